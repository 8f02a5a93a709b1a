"""PyPI provenance (PEP 740) against a local index serving the real recorded attestations.

``pypi_attestations-0.0.19.tar.gz`` and its integrity-API provenance are the real files PyPI
served (production Sigstore, GitHub publisher ``trailofbits/pypi-attestations``); they are
served here at the integrity API's real path, and checked with sigstore's embedded trust root.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from marketplace.errors import VerificationError
from marketplace.installers import Artifact, LockedDependency, PackageLock
from marketplace.lockfile import LockedTool
from marketplace.provenance import EVIDENCE_NAME, reverify, store, verify_tool
from registry_cache.serverjson import ServerVersion, parse_server
from tests.lock.conftest import server_doc
from tests.provenance.conftest import PYPI_DATA, PyPIIndex, flip_byte, sha256

SDIST = "pypi_attestations-0.0.19.tar.gz"
REPO = "https://github.com/trailofbits/pypi-attestations"
NAME = "io.github.trailofbits/pypi-attestations"


def provenance_of(filename: str) -> Any:
    return json.loads((PYPI_DATA / f"{filename}.provenance").read_text())


def as_provenance(attestation_file: str, repository: str, workflow: str) -> Any:
    """A single recorded PEP 740 attestation wrapped the way the integrity API serves it."""
    attestation = json.loads((PYPI_DATA / attestation_file).read_text())
    publisher = {"kind": "GitHub", "repository": repository, "workflow": workflow}
    return {
        "version": 1,
        "attestation_bundles": [{"publisher": publisher, "attestations": [attestation]}],
    }


def server(repository: str | None = REPO) -> ServerVersion:
    doc = server_doc(NAME, "0.0.19", [])
    if repository:
        doc["server"]["repository"] = {"url": repository, "source": "github"}
    return parse_server(doc)


def locked(index: PyPIIndex, body: bytes, closure: tuple[LockedDependency, ...] = ()) -> LockedTool:
    """The lock entry the resolver writes for the sdist the index serves."""
    package = PackageLock(
        registry_type="pypi",
        identifier="pypi-attestations",
        version="0.0.19",
        registry_base_url=index.url,
        artifacts=(Artifact(name=SDIST, digest="sha256:" + sha256(body)),),
        closure=(
            LockedDependency(
                name="pypi-attestations", version="0.0.19", hashes=("sha256:" + sha256(body),)
            ),
            *closure,
        ),
    )
    return LockedTool(name=NAME, version="0.0.19", registry="http://registry", package=package)


@pytest.fixture
def sdist() -> bytes:
    return (PYPI_DATA / SDIST).read_bytes()


def test_verified_with_identity_and_log_index(
    pypi_index: PyPIIndex, sdist: bytes, tmp_path: Path
) -> None:
    pypi_index.add("pypi-attestations", "0.0.19", SDIST, sdist, provenance_of(SDIST))
    tool, evidence = verify_tool(locked(pypi_index, sdist), server())
    v = tool.verification
    assert v["status"] == "verified" and v["method"] == "pypi-pep740"
    assert v["repository"] == REPO
    assert v["issuer"] == "https://token.actions.githubusercontent.com"
    assert v["workflow"].startswith(REPO + "/.github/workflows/release.yml@")
    assert v["log_index"] == 153454663
    # fetched at the integrity API's real path, with its media type
    assert f"/integrity/pypi-attestations/0.0.19/{SDIST}/provenance" in pypi_index.hits
    assert evidence is not None and v["provenance"] == evidence.digest

    # Stored with the install, it re-checks with no network: the index is gone.
    store(tmp_path, evidence)
    pypi_index.close()
    assert reverify(tool, tmp_path) == []
    # An edited stored copy no longer matches the digest the lock records.
    stored = tmp_path / EVIDENCE_NAME
    stored.write_bytes(stored.read_bytes().replace(b'"version":1', b'"version":1 '))
    assert reverify(tool, tmp_path) == [
        f"{NAME}: the stored provenance is not the one the lock records"
    ]
    stored.unlink()
    assert "missing" in reverify(tool, tmp_path)[0]


def test_a_flipped_byte_is_refused(pypi_index: PyPIIndex, sdist: bytes) -> None:
    """A tampered file the index lists with its own (new) digest: the attestation refuses it."""
    bad = flip_byte(sdist)
    pypi_index.add("pypi-attestations", "0.0.19", SDIST, bad, provenance_of(SDIST))
    with pytest.raises(VerificationError, match="does not verify"):
        verify_tool(locked(pypi_index, bad), server())


def test_an_attestation_for_another_file_is_refused(pypi_index: PyPIIndex, sdist: bytes) -> None:
    other = as_provenance(
        "pypi_attestation_models-0.0.4a2.tar.gz.attestation",
        "trailofbits/pypi-attestation-models",
        "release.yml",
    )
    pypi_index.add("pypi-attestations", "0.0.19", SDIST, sdist, other)
    with pytest.raises(VerificationError, match=f"the attestation of {SDIST} does not verify"):
        verify_tool(locked(pypi_index, sdist), server(), mode="prefer")


def test_a_signer_other_than_the_declared_repository_is_refused(
    pypi_index: PyPIIndex, sdist: bytes
) -> None:
    pypi_index.add("pypi-attestations", "0.0.19", SDIST, sdist, provenance_of(SDIST))
    with pytest.raises(VerificationError) as err:
        verify_tool(locked(pypi_index, sdist), server("https://github.com/evil/pypi-attestations"))
    assert REPO in str(err.value) and "https://github.com/evil/pypi-attestations" in str(err.value)


def test_no_declared_repository_is_not_verified(pypi_index: PyPIIndex, sdist: bytes) -> None:
    pypi_index.add("pypi-attestations", "0.0.19", SDIST, sdist, provenance_of(SDIST))
    tool, _ = verify_tool(locked(pypi_index, sdist), server(None))
    assert tool.verification["status"] == "unverifiable"
    with pytest.raises(VerificationError, match="require"):
        verify_tool(locked(pypi_index, sdist), server(None), mode="require")


def test_a_new_signer_needs_allow_identity_change(pypi_index: PyPIIndex, sdist: bytes) -> None:
    pypi_index.add("pypi-attestations", "0.0.19", SDIST, sdist, provenance_of(SDIST))
    before = locked(pypi_index, sdist)
    previous = LockedTool(
        name=NAME,
        version="0.0.18",
        registry="http://registry",
        package=before.package,
        verification={
            "status": "verified",
            "issuer": "https://token.actions.githubusercontent.com",
            "repository": "https://github.com/someone-else/pypi-attestations",
            "workflow": "https://github.com/someone-else/pypi-attestations/.github/workflows/r.yml@x",
        },
    )
    with pytest.raises(VerificationError) as err:
        verify_tool(before, server(), previous=previous)
    assert "someone-else" in str(err.value) and REPO in str(err.value)
    assert "--allow-identity-change" in str(err.value)
    tool, _ = verify_tool(before, server(), previous=previous, allow_identity_change=True)
    assert tool.verification["repository"] == REPO
    # The same signer from another tag of the same workflow is no change.
    same = LockedTool(
        name=NAME,
        version="0.0.18",
        registry="http://registry",
        package=before.package,
        verification=dict(
            tool.verification, workflow=REPO + "/.github/workflows/release.yml@refs/tags/v0.0.18"
        ),
    )
    assert verify_tool(before, server(), previous=same)[0].verification["status"] == "verified"


def test_require_refuses_a_file_without_provenance(pypi_index: PyPIIndex, sdist: bytes) -> None:
    pypi_index.add("pypi-attestations", "0.0.19", SDIST, sdist)  # the index has none (404)
    tool, evidence = verify_tool(locked(pypi_index, sdist), server(), mode="prefer")
    assert tool.verification["status"] == "unsigned"
    assert "publishes no provenance" in tool.verification["reason"]
    with pytest.raises(VerificationError, match='unsigned.*"require"'):
        verify_tool(locked(pypi_index, sdist), server(), mode="require")
    off, none = verify_tool(locked(pypi_index, sdist), server(), mode="off")
    assert off.verification["status"] == "unverified" and none is None


def test_dependencies_are_recorded_and_a_failing_one_refuses(
    pypi_index: PyPIIndex, sdist: bytes
) -> None:
    pypi_index.add("pypi-attestations", "0.0.19", SDIST, sdist, provenance_of(SDIST))
    gitlab = (PYPI_DATA / "gitlab_oidc_project-0.0.3.tar.gz").read_bytes()
    gitlab_prov = {
        "version": 1,
        "attestation_bundles": [
            {
                "publisher": {
                    "kind": "GitLab",
                    "repository": "facutuesca/gitlab-oidc-project",
                    "workflow_filepath": ".gitlab-ci.yml",
                },
                "attestations": [
                    json.loads(
                        (
                            PYPI_DATA / "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation"
                        ).read_text()
                    )
                ],
            }
        ],
    }
    pypi_index.add(
        "gitlab-oidc-project", "0.0.3", "gitlab_oidc_project-0.0.3.tar.gz", gitlab, gitlab_prov
    )
    models = (PYPI_DATA / "pypi_attestation_models-0.0.4a2.tar.gz").read_bytes()
    pypi_index.add(
        "pypi-attestation-models", "0.0.4a2", "pypi_attestation_models-0.0.4a2.tar.gz", models
    )
    closure = (
        LockedDependency(
            name="gitlab-oidc-project", version="0.0.3", hashes=("sha256:" + sha256(gitlab),)
        ),
        LockedDependency(
            name="pypi-attestation-models", version="0.0.4a2", hashes=("sha256:" + sha256(models),)
        ),
    )
    tool, _ = verify_tool(locked(pypi_index, sdist, closure), server())
    assert tool.verification["status"] == "verified"
    assert tool.verification["packages"] == {
        "gitlab-oidc-project==0.0.3": "verified",
        "pypi-attestation-models==0.0.4a2": "unsigned",
    }
    # the index said it has no provenance (null): not asked for it
    assert not [h for h in pypi_index.hits if h.startswith("/integrity/pypi-attestation-models/")]

    # rfc8785's real attestation was made on Sigstore's *staging* instance: present but not
    # valid against the production trust root, so it is a refusal, not "unsigned".
    wheel = (PYPI_DATA / "rfc8785-0.1.2-py3-none-any.whl").read_bytes()
    staging = as_provenance(
        "rfc8785-0.1.2-py3-none-any.whl.attestation", "trailofbits/rfc8785.py", "release.yml"
    )
    pypi_index.add("rfc8785", "0.1.2", "rfc8785-0.1.2-py3-none-any.whl", wheel, staging)
    closure += (
        LockedDependency(name="rfc8785", version="0.1.2", hashes=("sha256:" + sha256(wheel),)),
    )
    with pytest.raises(VerificationError, match="rfc8785==0.1.2"):
        verify_tool(locked(pypi_index, sdist, closure), server())


def test_an_unreachable_integrity_api_is_not_unsigned(sdist: bytes) -> None:
    """Blocking the provenance endpoint must not turn a signed package into an unsigned one."""
    index = PyPIIndex()
    tool = locked(index, sdist)
    index.close()  # nothing listens there any more
    with pytest.raises(VerificationError, match="cannot fetch provenance"):
        verify_tool(tool, server())
