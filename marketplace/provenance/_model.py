"""Values of provenance checks: what was found (``Outcome``) and what was fetched (``Evidence``).

``Outcome.to_lock()`` is the tool's ``verification`` table in ``mgx.lock``. ``Evidence`` is the
provenance material exactly as it was verified (attestations, registry keys and signatures),
kept with the install as canonical JSON so that it can be checked again with no network; the
lock records its sha256, so a stored copy that was swapped is noticed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marketplace.provenance.identity import SignerIdentity

__all__ = ["STATUSES", "Evidence", "Outcome"]

# verified: a signature that chains to Sigstore's trust root (or a digest pin, for mcpb) was
#   checked for this artifact. unsigned: the registry publishes no provenance for it.
# unverifiable: provenance exists in a form mgx cannot check (never "verified", never
#   "tampered"). unverified: not checked at all (policy off, remote, OCI without cosign).
STATUSES = ("verified", "unsigned", "unverifiable", "unverified")


@dataclass(frozen=True)
class Evidence:
    """Fetched provenance material (plain JSON data), canonically serialised."""

    document: Mapping[str, Any]

    def to_bytes(self) -> bytes:
        return json.dumps(self.document, sort_keys=True, separators=(",", ":")).encode()

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.to_bytes()).hexdigest()

    @classmethod
    def from_bytes(cls, data: bytes) -> Evidence:
        return cls(json.loads(data))


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """The result of checking one resolved tool."""

    status: str
    method: str = ""
    reason: str = ""
    identity: SignerIdentity | None = None
    log_index: int | None = None
    packages: Mapping[str, str] = field(default_factory=dict)
    evidence: Evidence | None = field(default=None, repr=False, compare=False)

    def to_lock(self, *, policy: str) -> dict[str, Any]:
        """The lock's ``verification`` table (empty values left out, keys in a fixed order)."""
        out: dict[str, Any] = {"status": self.status, "policy": policy}
        if self.method:
            out["method"] = self.method
        if self.reason:
            out["reason"] = self.reason
        if self.identity is not None:
            out.update(self.identity.to_dict())
        if self.log_index is not None:
            out["log_index"] = self.log_index
        if self.evidence is not None:
            out["provenance"] = self.evidence.digest
        if self.packages:
            out["packages"] = {k: self.packages[k] for k in sorted(self.packages)}
        return out
