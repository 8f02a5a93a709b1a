"""Who signed an artifact, read from its Fulcio certificate, and the rules it must satisfy.

A signature alone proves only that *someone* with a Sigstore identity signed the file. What
makes it worth checking is *who*: the certificate's OIDC issuer, the source repository and the
workflow that built it (Fulcio's extensions, OID arc 1.3.6.1.4.1.57264.1). mgx requires that
identity to be the repository the server's registry entry declares (server.json
``repository.url``), and, once recorded in the lock, to stay the same across updates (trust on
first use): a hijacked registry entry or a package taken over by another publisher then shows up
as a mismatch instead of as a valid signature.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marketplace.errors import VerificationError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

__all__ = [
    "SignerIdentity",
    "check_identity_change",
    "check_source",
    "from_certificate",
    "normalise_repository",
]

_ARC = "1.3.6.1.4.1.57264.1."
# v1 extensions hold raw bytes; v2 ones (8 and up) a DER UTF8String.
_ISSUER_V1, _REPO_V1 = _ARC + "1", _ARC + "5"
_ISSUER_V2, _BUILD_SIGNER, _SOURCE_REPO, _BUILD_CONFIG = (
    _ARC + "8",
    _ARC + "9",
    _ARC + "12",
    _ARC + "18",
)


@dataclass(frozen=True, kw_only=True)
class SignerIdentity:
    """The signer: OIDC issuer, source repository URL and the workflow (build config URI)."""

    issuer: str
    repository: str
    workflow: str

    def to_dict(self) -> dict[str, str]:
        return {"issuer": self.issuer, "repository": self.repository, "workflow": self.workflow}

    @classmethod
    def from_lock(cls, verification: Mapping[str, Any]) -> SignerIdentity | None:
        """The identity a lock's ``verification`` table records, if it records one."""
        issuer, repo = verification.get("issuer"), verification.get("repository")
        if not isinstance(issuer, str) or not isinstance(repo, str) or not repo:
            return None
        workflow = verification.get("workflow", "")
        return cls(issuer=issuer, repository=repo, workflow=str(workflow))

    def same_signer(self, other: SignerIdentity) -> bool:
        """Same issuer, repository and workflow file (the tag or branch of a run may differ)."""
        return (
            self.issuer == other.issuer
            and normalise_repository(self.repository) == normalise_repository(other.repository)
            and _workflow_file(self.workflow) == _workflow_file(other.workflow)
        )

    def __str__(self) -> str:
        workflow = _workflow_file(self.workflow)
        return f"{self.repository}" + (f" ({workflow})" if workflow else "") + f" via {self.issuer}"


def _utf8_der(raw: bytes) -> str:
    """The text of a DER UTF8String (tag 0x0c), or of raw bytes for the v1 extensions."""
    if len(raw) >= 2 and raw[0] == 0x0C:
        length, start = raw[1], 2
        if length & 0x80:  # long form: the next (length & 0x7f) bytes hold the length
            count = length & 0x7F
            length, start = int.from_bytes(raw[2 : 2 + count], "big"), 2 + count
        return raw[start : start + length].decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def _extensions(cert: Certificate) -> dict[str, str]:
    out = {}
    for ext in cert.extensions:
        oid = ext.oid.dotted_string
        if oid.startswith(_ARC):
            value = getattr(ext.value, "value", b"")
            if isinstance(value, bytes):
                out[oid] = _utf8_der(value)
    return out


def _san(cert: Certificate) -> str:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ""
    names = [*san.get_values_for_type(x509.UniformResourceIdentifier)]
    names += san.get_values_for_type(x509.RFC822Name)
    return names[0] if names else ""


def from_certificate(cert: Certificate) -> SignerIdentity:
    """The signer identity a Fulcio certificate carries (older certificates: v1 extensions)."""
    ext = _extensions(cert)
    issuer = ext.get(_ISSUER_V2) or ext.get(_ISSUER_V1, "")
    repository = ext.get(_SOURCE_REPO, "")
    if not repository and ext.get(_REPO_V1):
        # v1 certificates name the GitHub repository as owner/name only.
        repository = "https://github.com/" + ext[_REPO_V1]
    workflow = ext.get(_BUILD_CONFIG) or ext.get(_BUILD_SIGNER) or _san(cert)
    return SignerIdentity(issuer=issuer, repository=repository, workflow=workflow)


def normalise_repository(url: str) -> str:
    """``git+https://GitHub.com/Owner/Repo.git/`` → ``https://github.com/owner/repo``."""
    text = url.strip()
    text = re.sub(r"^git\+", "", text)
    text = re.sub(r"^(git|ssh)://(git@)?", "https://", text)
    text = re.sub(r"^git@([^:]+):", r"https://\1/", text)
    text = text.rstrip("/")
    if text.endswith(".git"):
        text = text[:-4]
    # GitHub and GitLab names are case-insensitive; comparing them folded avoids false alarms.
    return text.lower()


def _workflow_file(workflow: str) -> str:
    """``https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1`` → the file path."""
    path = workflow.split("@", 1)[0]
    match = re.search(r"(\.github/workflows/[^@]+|\.gitlab-ci\.yml)$", path)
    return match.group(1) if match else path


def check_source(
    identity: SignerIdentity, repository_url: str, *, subfolder: str = "", what: str
) -> None:
    """Refuse a signer whose source repository is not the one server.json declares.

    ``subfolder`` is not part of a certificate (a monorepo's packages share one repository), so
    it narrows nothing here; the repository itself must match.
    """
    if not identity.repository:
        raise VerificationError(
            f"{what}: the signing certificate names no source repository, so it cannot be "
            f"matched with the declared repository {repository_url}; refusing it"
        )
    if normalise_repository(identity.repository) != normalise_repository(repository_url):
        where = f"{repository_url} (subfolder {subfolder})" if subfolder else repository_url
        raise VerificationError(
            f"{what}: signed by {identity.repository}, but its registry entry declares the "
            f"source repository {where}; refusing it"
        )


def check_identity_change(
    old: SignerIdentity | None,
    new: SignerIdentity | None,
    *,
    what: str,
    allow: bool,
) -> None:
    """Trust on first use: a tool once signed by ``old`` must stay signed by ``old``.

    A new version with no signer at all counts as a change too (publishing without provenance
    is what a hijacked account would do).
    """
    if old is None or allow:
        return
    if new is not None and old.same_signer(new):
        return
    now = str(new) if new is not None else "no verified signer"
    raise VerificationError(
        f"{what}: the lock records the signer {old}, this version has {now}; if the change is "
        "expected, run again with --allow-identity-change"
    )
