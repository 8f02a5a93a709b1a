"""PyPI provenance (PEP 740): attestations from the index's integrity API, checked offline.

For every file the lock allows for the tool itself, ``{index}/integrity/<project>/<version>/
<filename>/provenance`` gives the attestation bundles PyPI recorded at upload. Each attestation
is verified with ``pypi-attestations`` on sigstore: the statement's subject must be this file's
name and sha256 (the digest the lock pins and the installer enforces), and the certificate must
chain to Sigstore's trust root with a valid SCT and a transparency-log entry. Dependencies of
the closure are checked the same way where they publish attestations; each is recorded as
``verified``, ``unsigned`` or ``unverifiable``, and an attestation that is present but fails is
a refusal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from marketplace.errors import VerificationError
from marketplace.provenance._model import Evidence, Outcome
from marketplace.provenance.identity import SignerIdentity

if TYPE_CHECKING:
    from marketplace.lockfile import LockedTool

__all__ = ["check", "fetch"]

DEFAULT_BASE = "https://pypi.org"
INTEGRITY = "application/vnd.pypi.integrity.v1+json"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
KIND = "pypi-pep740"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _base(tool: LockedTool) -> str:
    return (tool.package.registry_base_url or DEFAULT_BASE).rstrip("/")


def _provenance(client: Any, base: str, project: str, version: str, filename: str) -> Any:
    """The integrity API's provenance object for one file; None when the index has none."""
    from marketplace.provenance._http import get_optional_json

    url = f"{base}/integrity/{quote(project)}/{quote(version)}/{quote(filename)}/provenance"
    return get_optional_json(client, url, accept=INTEGRITY, what=f"pypi: provenance of {filename}")


def _dependency_files(client: Any, base: str, name: str, hashes: Iterable[str]) -> list[Any]:
    """(filename, sha256) of the index's files of ``name`` whose digest the lock allows."""
    from marketplace.provenance._http import get_optional_json

    wanted = {h.split(":", 1)[1] for h in hashes if h.startswith("sha256:")}
    page = get_optional_json(
        client, f"{base}/simple/{_canonical(name)}/", accept=SIMPLE_JSON, what=f"pypi: {name}"
    )
    out = []
    for entry in (page or {}).get("files", []):
        digest = (entry.get("hashes") or {}).get("sha256", "")
        if digest in wanted:
            # PEP 740's index API lists each file's provenance URL, or null when there is
            # none: no request is needed then (most dependencies publish none yet).
            listed = "provenance" not in entry or entry["provenance"] is not None
            out.append((entry.get("filename", ""), digest, listed))
    return sorted(out)


def fetch(tool: LockedTool, *, dependencies: bool = True) -> Evidence:
    """Download the provenance of the tool's files and, where published, of its closure."""
    from marketplace.provenance._http import client as http_client

    base = _base(tool)
    project, version = tool.package.identifier, tool.package.version
    own = _canonical(project)
    with http_client() as client:
        files = {
            a.name: {
                "sha256": a.digest.split(":", 1)[1],
                "provenance": _provenance(client, base, project, version, a.name),
            }
            for a in tool.package.artifacts
        }
        deps: dict[str, Any] = {}
        if dependencies:
            others = [d for d in tool.package.closure if _canonical(d.name) != own]

            def one(dep: Any) -> tuple[str, dict[str, Any]]:
                listed = _dependency_files(client, base, dep.name, dep.hashes)
                return f"{dep.name}=={dep.version}", {
                    fn: {
                        "sha256": digest,
                        "provenance": _provenance(client, base, dep.name, dep.version, fn)
                        if has_provenance
                        else None,
                    }
                    for fn, digest, has_provenance in listed
                }

            with ThreadPoolExecutor(max_workers=8) as pool:
                deps = dict(pool.map(one, others))
    return Evidence({"kind": KIND, "files": files, "dependencies": deps})


def _verify_file(filename: str, sha256: str, provenance: Any, *, what: str) -> Outcome:
    """Verify every attestation of one file; the outcome carries the signer it found."""
    from pydantic import ValidationError
    from pypi_attestations import AttestationError, Distribution, Provenance

    from marketplace.provenance import _sigstore
    from marketplace.provenance.identity import from_certificate

    if not provenance:
        return Outcome(status="unsigned", reason=f"{filename}: the index publishes no provenance")
    try:
        parsed = Provenance.model_validate(provenance)
    except ValidationError as exc:
        return Outcome(
            status="unverifiable",
            reason=f"{filename}: provenance in a form mgx cannot read ({exc.error_count()} errors)",
        )
    dist = Distribution(name=filename, digest=sha256)
    identity: SignerIdentity | None = None
    index = None
    count = 0
    _sigstore.verifier()  # quiets sigstore's offline-TUF warning before the first check
    for bundle in parsed.attestation_bundles:
        for attestation in bundle.attestations:
            try:
                attestation.verify(bundle.publisher, dist, offline=True)
            except (AttestationError, ValueError) as exc:
                raise VerificationError(
                    f"{what}: the attestation of {filename} does not verify ({exc}); refusing it"
                ) from exc
            from cryptography import x509

            cert = x509.load_der_x509_certificate(attestation.verification_material.certificate)
            found = from_certificate(cert)
            if identity is not None and not identity.same_signer(found):
                raise VerificationError(
                    f"{what}: {filename} carries attestations of two signers ({identity}, "
                    f"{found}); refusing it"
                )
            identity = found
            entries = attestation.verification_material.transparency_entries
            index = index if index is not None else _sigstore.log_index(entries)
            count += 1
    if not count:
        return Outcome(status="unsigned", reason=f"{filename}: the provenance holds no attestation")
    return Outcome(status="verified", identity=identity, log_index=index)


def _combine(results: Mapping[str, Outcome], *, what: str) -> Outcome:
    """One outcome for a set of files: verified only when every one is."""
    identity: SignerIdentity | None = None
    index = None
    for _name, result in sorted(results.items()):
        if result.status != "verified":
            return result
        if identity is not None and result.identity and not identity.same_signer(result.identity):
            raise VerificationError(
                f"{what}: its files are signed by different identities ({identity}, "
                f"{result.identity}); refusing it"
            )
        identity = identity or result.identity
        index = index if index is not None else result.log_index
    if not results:
        return Outcome(status="unsigned", reason="no files to check")
    return Outcome(status="verified", identity=identity, log_index=index)


def check(tool: LockedTool, evidence: Evidence) -> Outcome:
    """Verify fetched (or stored) evidence against the lock entry, with no network.

    ``VerificationError`` when an attestation is present and fails, when the evidence names a
    file the lock does not allow, or when files are signed by different identities.
    """
    what = f"{tool.name} {tool.version}"
    doc = evidence.document
    if doc.get("kind") != KIND:
        raise VerificationError(f"{what}: the stored provenance is not PyPI provenance")
    allowed = {a.name: a.digest.split(":", 1)[1] for a in tool.package.artifacts}
    files = doc.get("files") or {}
    if set(files) != set(allowed):
        raise VerificationError(f"{what}: the provenance covers other files than the lock pins")
    own: dict[str, Outcome] = {}
    for filename, entry in files.items():
        if entry.get("sha256") != allowed[filename]:
            raise VerificationError(f"{what}: the provenance is for another {filename}")
        own[filename] = _verify_file(
            filename, allowed[filename], entry.get("provenance"), what=what
        )
    outcome = _combine(own, what=what)
    packages = {}
    locked = {f"{d.name}=={d.version}": d for d in tool.package.closure}
    for key, dep_files in sorted((doc.get("dependencies") or {}).items()):
        dep = locked.get(key)
        if dep is None:
            raise VerificationError(f"{what}: the provenance names {key}, which is not locked")
        digests = {h.split(":", 1)[1] for h in dep.hashes}
        results = {}
        for filename, entry in dep_files.items():
            if entry.get("sha256") not in digests:
                raise VerificationError(f"{what}: the provenance of {key} is for another file")
            results[filename] = _verify_file(
                filename, entry["sha256"], entry.get("provenance"), what=f"{what}: {key}"
            )
        packages[key] = _combine(results, what=key).status if results else "unsigned"
    return Outcome(
        status=outcome.status,
        method=KIND,
        reason=outcome.reason,
        identity=outcome.identity,
        log_index=outcome.log_index,
        packages=packages,
        evidence=evidence,
    )
