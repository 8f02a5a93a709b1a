"""Provenance: who built a resolved tool, checked before it is installed, and again offline.

Public surface::

    tool, evidence = verify_tool(tool, server, mode="prefer", previous=lock_entry)  # network
    keep(install_dir, tool, evidence)        # after the install is in place
    problems = reverify(locked_tool, install_dir)   # no network; [] when all holds
    evidence = frozen_check(locked_tool, install_dir)  # sync --frozen: stored or re-fetched

One module per source: ``pypi`` (PEP 740 via the integrity API), ``npm`` (registry signatures
and the SLSA attestation), ``artifacts`` (mcpb digest, OCI + cosign, remote); ``identity`` holds
the signer rules (declared repository, trust on first use), ``policy`` the modes. Every refusal
is a ``VerificationError`` raised before anything is installed or written.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from marketplace.errors import VerificationError
from marketplace.provenance._model import STATUSES, Evidence, Outcome
from marketplace.provenance._store import (
    CHECKED_NAME,
    EVIDENCE_NAME,
    checked_before,
    load,
    remember_checked,
    store,
)
from marketplace.provenance.identity import SignerIdentity, check_identity_change, check_source
from marketplace.provenance.policy import DEFAULT, MODES, effective, enforce, parse_mode

if TYPE_CHECKING:
    from marketplace.lockfile import LockedTool
    from registry_cache.serverjson import ServerVersion

# Files this package writes into an install directory (not part of the installed package).
STORED_NAMES = (EVIDENCE_NAME, CHECKED_NAME)

__all__ = [
    "DEFAULT",
    "EVIDENCE_NAME",
    "MODES",
    "STORED_NAMES",
    "STATUSES",
    "Evidence",
    "Outcome",
    "SignerIdentity",
    "check",
    "effective",
    "fetch",
    "frozen_check",
    "keep",
    "parse_mode",
    "reverify",
    "store",
    "verify_tool",
]


def fetch(tool: LockedTool) -> Evidence | None:
    """Download the provenance material of ``tool`` (None for types that have none)."""
    kind = tool.package.registry_type
    if kind == "pypi":
        from marketplace.provenance import pypi

        return pypi.fetch(tool)
    if kind == "npm":
        from marketplace.provenance import npm

        return npm.fetch(tool)
    return None


def check(tool: LockedTool, evidence: Evidence | None, *, repository: str = "") -> Outcome:
    """Check ``tool`` against ``evidence`` (no network, except ``cosign`` for OCI images)."""
    kind = tool.package.registry_type
    if kind == "pypi" and evidence is not None:
        from marketplace.provenance import pypi

        return pypi.check(tool, evidence)
    if kind == "npm" and evidence is not None:
        from marketplace.provenance import npm

        return npm.check(tool, evidence)
    from marketplace.provenance import artifacts

    if kind == "mcpb":
        return artifacts.check_mcpb(tool)
    if kind == "oci":
        return artifacts.check_oci(tool, repository)
    if kind == "nuget":
        return artifacts.check_nuget(tool)
    return artifacts.check_remote(tool)


def _declared(server: ServerVersion | None) -> tuple[str, str]:
    repo = server.repository if server is not None else None
    return (repo.url, repo.subfolder or "") if repo is not None else ("", "")


def verify_tool(
    tool: LockedTool,
    server: ServerVersion | None,
    *,
    mode: str = DEFAULT,
    previous: LockedTool | None = None,
    allow_identity_change: bool = False,
) -> tuple[LockedTool, Evidence | None]:
    """Verify a freshly resolved tool; returns it with its ``verification`` filled in.

    Refuses (``VerificationError``) when provenance is present and fails, when the signer is
    not the repository server.json declares, when the signer differs from the one ``previous``
    recorded (unless ``allow_identity_change``), or when ``mode`` is ``require`` and the tool
    is not verified. Network: the registry's provenance endpoints.
    """
    what = f"{tool.name} {tool.version}"
    if mode == "off":
        outcome = Outcome(status="unverified", reason='not checked (verify = "off")')
        return replace(tool, verification=outcome.to_lock(policy=mode)), None
    evidence = fetch(tool)
    repository, subfolder = _declared(server)
    outcome = check(tool, evidence, repository=repository)
    if outcome.status == "verified" and outcome.identity is not None:
        if repository:
            check_source(outcome.identity, repository, subfolder=subfolder, what=what)
        else:
            outcome = replace(
                outcome,
                status="unverifiable",
                reason=f"signed by {outcome.identity.repository}, but server.json declares no "
                "repository.url to match it with",
            )
    if previous is not None and previous.name == tool.name:
        new = outcome.identity if outcome.status == "verified" else None
        check_identity_change(
            SignerIdentity.from_lock(previous.verification),
            new,
            what=what,
            allow=allow_identity_change,
        )
    enforce(outcome, mode, what=what)
    return replace(tool, verification=outcome.to_lock(policy=mode)), outcome.evidence


def keep(install_dir: Path, tool: LockedTool, evidence: Evidence) -> None:
    """Store ``evidence`` with the install of ``tool``, which ``verify_tool`` just verified."""
    store(install_dir, evidence)
    if evidence.digest == tool.verification.get("provenance"):
        remember_checked(tool, install_dir)


def _recheck(tool: LockedTool, evidence: Evidence, digest: str = "") -> list[str]:
    """Problems of ``evidence`` against what the lock says was verified.

    ``digest`` is that of the stored bytes when read from disk (any edit, even of layout, is
    a change), else that of the canonical form of freshly fetched evidence.
    """
    recorded = tool.verification
    if (digest or evidence.digest) != recorded.get("provenance"):
        return [f"{tool.name}: the stored provenance is not the one the lock records"]
    try:
        outcome = check(tool, evidence)
    except VerificationError as exc:
        return [str(exc)]
    problems = []
    if outcome.status != recorded.get("status"):
        problems.append(
            f"{tool.name}: provenance now checks as {outcome.status}, the lock says "
            f"{recorded.get('status')}"
        )
    locked = SignerIdentity.from_lock(recorded)
    if locked is not None and (
        outcome.identity is None or not locked.same_signer(outcome.identity)
    ):
        problems.append(
            f"{tool.name}: the stored provenance is signed by {outcome.identity or 'nobody'}, "
            f"the lock records {locked}"
        )
    return problems


def reverify(tool: LockedTool, install_dir: Path) -> list[str]:
    """Re-check a locked, installed tool's stored provenance with no network.

    Returns the problems found (empty: the stored provenance still verifies, matches the
    lock's digest and the recorded signer). A tool whose lock records no provenance has
    nothing to re-check here.
    """
    if not tool.verification.get("provenance"):
        return []
    data = load(install_dir)
    if data is None:
        return [
            f"{tool.name}: its stored provenance ({EVIDENCE_NAME}) is missing; reinstall it "
            "(`mgx tool sync --repair`)"
        ]
    import hashlib

    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    try:
        evidence = Evidence.from_bytes(data)
    except ValueError:
        return [f"{tool.name}: its stored provenance is not valid JSON"]
    return _recheck(tool, evidence, digest)


def frozen_check(tool: LockedTool, install_dir: Path) -> Evidence | None:
    """``sync --frozen``: the lock's provenance holds for ``tool`` (``VerificationError`` if not).

    Uses the copy stored with the install when there is one (no network); otherwise fetches
    the provenance again and requires it to be byte-for-byte the document the lock hashed.
    Returns the evidence to store with the install.
    """
    if not tool.verification.get("provenance"):
        return None
    data = load(install_dir)
    if data is not None:
        import hashlib

        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if digest != tool.verification.get("provenance"):
            raise VerificationError(
                f"{tool.name}: the stored provenance is not the one the lock records"
            )
        # The full signature check costs sigstore's import (~0.5 s): done once per lock
        # entry and remembered beside the install, so `sync --frozen` stays fast when
        # nothing changed. `reverify` (mgx tool verify) always checks in full.
        if checked_before(tool, install_dir):
            return None
        problems = reverify(tool, install_dir)
        if problems:
            raise VerificationError(problems[0])
        remember_checked(tool, install_dir)
        return None
    evidence = fetch(tool)
    if evidence is None:
        raise VerificationError(f"{tool.name}: its registry no longer serves its provenance")
    problems = _recheck(tool, evidence)
    if problems:
        raise VerificationError(problems[0])
    return evidence
