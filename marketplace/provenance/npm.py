"""npm provenance: registry signatures of every tarball and the package's SLSA attestation.

Registry signatures: each version's ``dist.signatures`` is an ECDSA P-256 signature by the
registry over ``<name>@<version>:<integrity>``; the public keys come from the registry's
``/-/npm/v1/keys``. They prove the tarball digest in the lock is the one the registry
published (what ``npm audit signatures`` checks), for every package of the locked tree.

Provenance: ``/-/npm/v1/attestations/<name>@<version>`` holds the SLSA build provenance that
``npm publish --provenance`` recorded: a Sigstore bundle whose in-toto subject must be
``pkg:npm/<name>@<version>`` with the sha512 of ``dist.integrity``, whose certificate names the
repository and workflow that built it. Bundles from the 2023-era tooling (Rekor ``intoto``
entries, bundle format 0.1/0.2) cannot be checked by sigstore-python: they are reported
*unverifiable*, never as verified and never as tampered.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from marketplace.errors import VerificationError
from marketplace.provenance._model import Evidence, Outcome

if TYPE_CHECKING:
    from marketplace.installers import LockedDependency
    from marketplace.lockfile import LockedTool

__all__ = ["check", "fetch", "purl"]

DEFAULT_BASE = "https://registry.npmjs.org"
KIND = "npm-provenance"
SLSA = ("https://slsa.dev/provenance/v1", "https://slsa.dev/provenance/v0.2")


def purl(name: str, version: str) -> str:
    """The package URL npm puts in the subject (the ``@`` of a scope percent-encoded)."""
    return f"pkg:npm/{quote(name, safe='/')}@{version}"


def _package_name(dep: LockedDependency) -> str:
    """The registry name of a tree entry (an alias keeps the real name in ``extra``)."""
    named = dep.extra.get("name")
    if isinstance(named, str) and named:
        return named
    return dep.name.rsplit("node_modules/", 1)[-1]


def _integrity(dep: LockedDependency) -> str:
    return next((h for h in dep.hashes if h.startswith("sha")), "")


def _own_entry(tool: LockedTool) -> tuple[str, str]:
    """(version, integrity) of the tool's own package in the lock."""
    path = f"node_modules/{tool.package.identifier}"
    for dep in tool.package.closure:
        if dep.name == path:
            return dep.version, _integrity(dep)
    artifact = tool.package.artifacts[0] if tool.package.artifacts else None
    return tool.package.version, artifact.digest if artifact else ""


def fetch(tool: LockedTool) -> Evidence:
    """Download the registry keys, every tree entry's signatures and the attestations."""
    from marketplace.provenance._http import client as http_client
    from marketplace.provenance._http import get_optional_json

    base = (tool.package.registry_base_url or DEFAULT_BASE).rstrip("/")
    name, version = tool.package.identifier, tool.package.version
    with http_client() as client:
        keys = get_optional_json(
            client, f"{base}/-/npm/v1/keys", accept="application/json", what="npm: registry keys"
        )

        def signatures(dep: LockedDependency) -> tuple[str, dict[str, Any]]:
            real = _package_name(dep)
            doc = get_optional_json(
                client,
                f"{base}/{quote(real, safe='@')}/{quote(dep.version)}",
                accept="application/json",
                what=f"npm: {real}@{dep.version}",
            )
            dist = (doc or {}).get("dist") or {}
            return dep.name, {
                "name": real,
                "version": dep.version,
                "integrity": dist.get("integrity", ""),
                "signatures": dist.get("signatures") or [],
            }

        deps = [d for d in tool.package.closure if d.name.startswith("node_modules/")]
        with ThreadPoolExecutor(max_workers=8) as pool:
            sigs = dict(pool.map(signatures, deps))
        attestations = get_optional_json(
            client,
            f"{base}/-/npm/v1/attestations/{quote(name, safe='@')}@{quote(version)}",
            accept="application/json",
            what=f"npm: attestations of {name}@{version}",
        )
    return Evidence({"kind": KIND, "keys": keys, "signatures": sigs, "attestations": attestations})


# --- registry signatures ----------------------------------------------------------------------


def _registry_keys(keys: Any) -> dict[str, str]:
    """keyid → base64 DER public key, from a ``/-/npm/v1/keys`` answer."""
    out = {}
    for key in (keys or {}).get("keys", []) if isinstance(keys, Mapping) else []:
        if isinstance(key, Mapping) and isinstance(key.get("keyid"), str):
            out[key["keyid"]] = str(key.get("key", ""))
    return out


def _check_signature(entry: Mapping[str, Any], keys: Mapping[str, str], *, what: str) -> str:
    """``verified`` / ``unsigned`` / ``unverifiable`` for one tarball; a bad signature refuses."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    signatures = entry.get("signatures") or []
    if not signatures:
        return "unsigned"
    message = f"{entry['name']}@{entry['version']}:{entry['integrity']}".encode()
    for sig in signatures:
        key_text = keys.get(str(sig.get("keyid", "")))
        if not key_text:
            continue
        key = serialization.load_der_public_key(base64.b64decode(key_text))
        if not isinstance(key, ec.EllipticCurvePublicKey):
            continue
        try:
            key.verify(
                base64.b64decode(str(sig.get("sig", ""))), message, ec.ECDSA(hashes.SHA256())
            )
        except (InvalidSignature, ValueError) as exc:
            raise VerificationError(
                f"{what}: the registry signature of {entry['name']}@{entry['version']} does not "
                "verify; refusing it"
            ) from exc
        return "verified"
    return "unverifiable"  # signed with a key the registry does not list


# --- provenance attestation -------------------------------------------------------------------


def _old_format(bundle: Mapping[str, Any]) -> str:
    """Why a bundle is in a format sigstore-python cannot verify ("" when it can)."""
    media = str(bundle.get("mediaType", ""))
    if media.endswith("version=0.1") or media.endswith("version=0.2"):
        return f"bundle format {media.rsplit('=', 1)[-1]} (2023-era npm tooling)"
    for entry in (bundle.get("verificationMaterial") or {}).get("tlogEntries") or []:
        kind = (entry.get("kindVersion") or {}).get("kind")
        if kind == "intoto":
            return "Rekor 'intoto' log entry (2023-era npm tooling)"
    return ""


def _hex_sha512(integrity: str) -> str:
    if not integrity.startswith("sha512-"):
        return ""
    return base64.b64decode(integrity[len("sha512-") :]).hex()


def _check_provenance(tool: LockedTool, attestations: Any, integrity: str, *, what: str) -> Outcome:
    from marketplace.provenance import _sigstore
    from marketplace.provenance.identity import from_certificate

    found = [
        a
        for a in ((attestations or {}).get("attestations") or [])
        if isinstance(a, Mapping) and a.get("predicateType") in SLSA
    ]
    if not found:
        return Outcome(status="unsigned", reason="the registry publishes no provenance for it")
    raw = found[0].get("bundle") or {}
    old = _old_format(raw)
    if old:
        return Outcome(status="unverifiable", reason=f"its provenance is a {old}")
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle, InvalidBundle
    from sigstore.verify import policy

    try:
        bundle = Bundle.from_json(json.dumps(raw))
    except (InvalidBundle, ValueError) as exc:
        return Outcome(status="unverifiable", reason=f"its provenance bundle cannot be read: {exc}")
    try:
        _, payload = _sigstore.verifier().verify_dsse(bundle, policy.UnsafeNoOp())
    except (SigstoreError, ValueError) as exc:
        raise VerificationError(
            f"{what}: its provenance does not verify ({exc}); refusing it"
        ) from exc
    statement = json.loads(payload)
    subjects = statement.get("subject") or []
    expected = (purl(tool.package.identifier, tool.package.version), _hex_sha512(integrity))
    if not any(
        (s.get("name"), (s.get("digest") or {}).get("sha512")) == expected for s in subjects
    ):
        names = ", ".join(str(s.get("name")) for s in subjects) or "nothing"
        raise VerificationError(
            f"{what}: its provenance is for {names}, not for this tarball "
            f"({expected[0]} with the locked sha512); refusing it"
        )
    entries = (raw.get("verificationMaterial") or {}).get("tlogEntries")
    return Outcome(
        status="verified",
        identity=from_certificate(bundle.signing_certificate),
        log_index=_sigstore.log_index(entries),
    )


def check(tool: LockedTool, evidence: Evidence) -> Outcome:
    """Verify fetched (or stored) evidence against the lock entry, with no network."""
    what = f"{tool.name} {tool.version}"
    doc = evidence.document
    if doc.get("kind") != KIND:
        raise VerificationError(f"{what}: the stored provenance is not npm provenance")
    keys = _registry_keys(doc.get("keys"))
    sigs = doc.get("signatures") or {}
    packages: dict[str, str] = {}
    for dep in tool.package.closure:
        if not dep.name.startswith("node_modules/"):
            continue
        entry = sigs.get(dep.name)
        if entry is None:
            raise VerificationError(f"{what}: the stored provenance does not cover {dep.name}")
        if entry.get("integrity") and entry["integrity"] != _integrity(dep):
            raise VerificationError(
                f"{what}: the registry's integrity of {entry['name']}@{dep.version} is not the "
                "locked one; refusing it"
            )
        packages[dep.name.removeprefix("node_modules/")] = _check_signature(entry, keys, what=what)
    _, integrity = _own_entry(tool)
    outcome = _check_provenance(tool, doc.get("attestations"), integrity, what=what)
    return Outcome(
        status=outcome.status,
        method=KIND,
        reason=outcome.reason,
        identity=outcome.identity,
        log_index=outcome.log_index,
        packages=packages,
        evidence=evidence,
    )
