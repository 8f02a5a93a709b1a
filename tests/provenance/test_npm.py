"""npm provenance against a local registry serving the real recorded material.

``@playwright/cli@0.1.1``: the real tarball and the real ``/-/npm/v1/attestations`` response
(a production Sigstore SLSA v1 bundle from GitHub Actions in microsoft/playwright-cli). The
2023-era bundles of ``sigstore`` and ``tuf-js`` (Rekor ``intoto`` entries) are real too and
must come out *unverifiable*. Registry signatures: the local registry signs what it serves
with its own key and publishes it at ``/-/npm/v1/keys``, as a private registry would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from marketplace.errors import VerificationError
from marketplace.installers import Artifact, LockedDependency, PackageLock
from marketplace.lockfile import LockedTool
from marketplace.provenance import reverify, store, verify_tool
from marketplace.provenance.npm import purl
from registry_cache.serverjson import ServerVersion, parse_server
from tests.lock.conftest import server_doc
from tests.provenance.conftest import (
    NPM_DATA,
    NpmPackage,
    NpmRegistry,
    flip_byte,
    playwright_package,
    sri512,
)

NAME = "io.github.microsoft/playwright-cli"
REPO = "https://github.com/microsoft/playwright-cli"


def server(name: str = NAME, version: str = "0.1.1", repository: str = REPO) -> ServerVersion:
    doc = server_doc(name, version, [])
    doc["server"]["repository"] = {"url": repository, "source": "github"}
    return parse_server(doc)


def locked(registry: NpmRegistry, pkg: NpmPackage, name: str = NAME) -> LockedTool:
    integrity = pkg.integrity or sri512(pkg.tarball)
    package = PackageLock(
        registry_type="npm",
        identifier=pkg.name,
        version=pkg.version,
        registry_base_url=registry.url,
        artifacts=(Artifact(name=f"{pkg.name}-{pkg.version}.tgz", digest=integrity),),
        closure=(
            LockedDependency(
                name=f"node_modules/{pkg.name}", version=pkg.version, hashes=(integrity,)
            ),
        ),
    )
    return LockedTool(name=name, version=pkg.version, registry="http://registry", package=package)


def test_playwright_cli_is_verified(npm_registry: NpmRegistry, tmp_path: Path) -> None:
    pkg = playwright_package()
    npm_registry.add(pkg)
    tool, evidence = verify_tool(locked(npm_registry, pkg), server())
    v = tool.verification
    assert v["status"] == "verified" and v["method"] == "npm-provenance"
    assert v["repository"] == REPO
    assert v["workflow"] == REPO + "/.github/workflows/publish.yml@refs/tags/v0.1.1"
    assert v["log_index"] == 953297574
    assert v["packages"] == {"@playwright/cli": "verified"}  # the registry's signature
    assert "/-/npm/v1/attestations/@playwright%2Fcli@0.1.1" in npm_registry.hits
    assert "/-/npm/v1/keys" in npm_registry.hits
    assert evidence is not None
    store(tmp_path, evidence)
    npm_registry.close()
    assert reverify(tool, tmp_path) == []


def test_subject_is_the_purl_with_the_scope_encoded() -> None:
    assert purl("@playwright/cli", "0.1.1") == "pkg:npm/%40playwright/cli@0.1.1"


def test_a_flipped_byte_is_refused(npm_registry: NpmRegistry) -> None:
    """A registry serving a tampered tarball (with a matching integrity) is caught."""
    pkg = playwright_package()
    pkg = playwright_package(tarball=flip_byte(pkg.tarball))
    npm_registry.add(pkg)
    with pytest.raises(VerificationError, match="not for this tarball"):
        verify_tool(locked(npm_registry, pkg), server())


def test_an_attestation_for_another_package_is_refused(npm_registry: NpmRegistry) -> None:
    """playwright's real attestation served for another package's tarball."""
    other = (NPM_DATA / "registry" / "sigstore-2.0.0.tgz").read_bytes()
    pkg = playwright_package(tarball=other)
    npm_registry.add(pkg)
    with pytest.raises(VerificationError, match="pkg:npm/%40playwright/cli@0.1.1"):
        verify_tool(locked(npm_registry, pkg), server())


def test_a_bad_registry_signature_is_refused(npm_registry: NpmRegistry) -> None:
    pkg = playwright_package()
    genuine = npm_registry.version_doc(pkg)["dist"]["signatures"][0]["sig"]
    npm_registry.add(playwright_package(signature=genuine[:-8] + "AAAAAAA="))
    with pytest.raises(VerificationError, match="registry signature of @playwright/cli@0.1.1"):
        verify_tool(locked(npm_registry, pkg), server())


def test_another_repository_is_refused(npm_registry: NpmRegistry) -> None:
    pkg = playwright_package()
    npm_registry.add(pkg)
    with pytest.raises(VerificationError) as err:
        verify_tool(locked(npm_registry, pkg), server(repository="https://github.com/evil/cli"))
    assert REPO in str(err.value) and "https://github.com/evil/cli" in str(err.value)


def test_no_attestation_is_unsigned(npm_registry: NpmRegistry) -> None:
    pkg = playwright_package(attestations=None)
    npm_registry.add(pkg)
    tool, _ = verify_tool(locked(npm_registry, pkg), server())
    assert tool.verification["status"] == "unsigned"
    with pytest.raises(VerificationError, match="require"):
        verify_tool(locked(npm_registry, pkg), server(), mode="require")


def _old(name: str, version: str, attestations: Any) -> NpmPackage:
    tarball = (NPM_DATA / "registry" / f"{name}-{version}.tgz").read_bytes()
    dist = json.loads((NPM_DATA / "registry" / f"{name}-{version}.dist.json").read_text())
    assert dist["integrity"] == sri512(tarball)
    manifest = {"name": name, "version": version}
    return NpmPackage(
        name=name, version=version, tarball=tarball, manifest=manifest, attestations=attestations
    )


@pytest.mark.parametrize(
    ("name", "version", "source"),
    [
        ("sigstore", "1.0.0", "npm-cli/valid-sigstore-attestations.json"),
        ("tuf-js", "1.0.0", "npm-cli/valid-tuf-js-attestations.json"),
        ("sigstore", "2.0.0", "sigstore-go/sigstore.js@2.0.0-provenance.sigstore.json"),
    ],
)
def test_2023_era_bundles_are_unverifiable(
    npm_registry: NpmRegistry, name: str, version: str, source: str
) -> None:
    data = json.loads((NPM_DATA / source).read_text())
    if "attestations" not in data:  # a bare bundle: wrap it as the endpoint serves it
        data = {
            "attestations": [{"predicateType": "https://slsa.dev/provenance/v1", "bundle": data}]
        }
    pkg = _old(name, version, data)
    npm_registry.add(pkg)
    repo = {
        "sigstore": "https://github.com/sigstore/sigstore-js",
        "tuf-js": "https://github.com/theupdateframework/tuf-js",
    }[name]
    tool, _ = verify_tool(
        locked(npm_registry, pkg, name=f"io.github.x/{name}"),
        server(f"io.github.x/{name}", version, repo),
    )
    v = tool.verification
    assert v["status"] == "unverifiable" and "2023-era" in v["reason"]
    assert "repository" not in v  # never reported as a verified signer
    with pytest.raises(VerificationError, match="unverifiable"):
        verify_tool(
            locked(npm_registry, pkg, name=f"io.github.x/{name}"),
            server(f"io.github.x/{name}", version, repo),
            mode="require",
        )
