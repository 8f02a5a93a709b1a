"""Package types without Sigstore provenance of their own: mcpb, OCI and remote servers.

- mcpb: the bundle is pinned by server.json's ``fileSha256`` and the installer refuses any
  other file, so the digest match is recorded as the verification (method ``sha256``). It
  proves the file is the one the registry entry names, not who built it.
- OCI: the image digest in the lock is the pin. With a ``cosign`` binary on PATH, ``cosign
  verify`` checks the image's signature for the declared repository's GitHub workflow;
  without one the tool stays ``unverified`` and says why.
- remote: nothing is installed; the URL comes from the registry entry and is not signed.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

from marketplace.errors import VerificationError
from marketplace.provenance._model import Outcome
from marketplace.provenance.identity import SignerIdentity, normalise_repository

if TYPE_CHECKING:
    from marketplace.lockfile import LockedTool

__all__ = ["check_mcpb", "check_oci", "check_remote"]

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


def check_mcpb(tool: LockedTool) -> Outcome:
    if not tool.package.artifacts:
        return Outcome(status="unverified", reason="the registry entry pins no fileSha256")
    return Outcome(status="verified", method="sha256")


def check_nuget(tool: LockedTool) -> Outcome:
    # The SHA-512 comes from the same feed as the package: it pins the bytes, it does not say
    # who built them. NuGet's own package signatures are not checked by mgx.
    return Outcome(
        status="unverified",
        method="sha512",
        reason="pinned by the feed's SHA-512 only (mgx does not check NuGet signatures)",
    )


def check_remote(tool: LockedTool) -> Outcome:
    return Outcome(status="unverified", reason="a remote server: nothing is installed or signed")


def check_oci(tool: LockedTool, repository: str) -> Outcome:
    """``cosign verify`` of ``image@sha256:…`` for the declared GitHub repository's workflows."""
    image = next((a.name for a in tool.package.artifacts), "") or tool.package.identifier
    cosign = shutil.which("cosign")
    if cosign is None:
        return Outcome(
            status="unverified",
            method="oci-digest",
            reason="pinned by image digest only (no cosign on PATH to check its signature)",
        )
    repo = normalise_repository(repository) if repository else ""
    if not repo.startswith("https://github.com/"):
        return Outcome(
            status="unverified",
            method="oci-digest",
            reason="pinned by image digest only (no GitHub repository declared for cosign)",
        )
    import re

    identity = "^" + re.escape(repo) + "/"
    try:
        proc = subprocess.run(
            [
                cosign,
                "verify",
                "--certificate-identity-regexp",
                identity,
                "--certificate-oidc-issuer",
                GITHUB_ISSUER,
                image,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VerificationError(f"{tool.name}: cosign verify could not run: {exc}") from exc
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
        if "no signatures found" in proc.stderr or "no matching signatures" in proc.stderr:
            return Outcome(status="unsigned", method="cosign", reason=f"cosign: {detail}")
        raise VerificationError(f"{tool.name}: cosign verify refused {image}: {detail}")
    return Outcome(
        status="verified",
        method="cosign",
        identity=SignerIdentity(issuer=GITHUB_ISSUER, repository=repo, workflow=""),
    )
