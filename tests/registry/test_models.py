"""server.json models against the official schema, examples and seed data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from registry_cache.errors import ServerJsonError
from registry_cache.serverjson import OFFICIAL_META, from_legacy, parse_server
from registry_cache.snapshot import load
from tests.conftest import TEST_DATA

REGISTRY = TEST_DATA / "registry"


def _files(kind: str) -> list[Path]:
    return sorted((REGISTRY / "examples" / kind).glob("*.json"))


# What each invalid example must name in its error message (the field at fault).
INVALID_FIELD = {
    "bad-name-pattern.json": "name",
    "description-too-long.json": "description",
    "missing-name.json": "name",
    "package-version-latest.json": "packages[0].version",
    "positional-argument-missing-value.json": "packages[0].packageArguments[0]",
}


def test_example_sets_are_present() -> None:
    assert len(_files("valid")) >= 3
    assert {p.name for p in _files("invalid")} == set(INVALID_FIELD)


@pytest.mark.parametrize("path", _files("valid"), ids=lambda p: p.name)
def test_valid_examples_parse_and_validate(path: Path, server_schema: dict[str, Any]) -> None:
    doc = json.loads(path.read_text())
    jsonschema.Draft7Validator(server_schema).validate(doc)
    sv = parse_server(doc)
    assert sv.name == doc["name"]
    assert sv.version == doc["version"]
    assert len(sv.packages) == len(doc.get("packages", []))
    assert len(sv.remotes) == len(doc.get("remotes", []))


def test_valid_example_details() -> None:
    pkg = parse_server(json.loads((REGISTRY / "examples/valid/with-package.json").read_text()))
    (package,) = pkg.packages
    assert package.registry_type == "npm"
    assert [a.type for a in package.package_arguments] == ["positional", "named"]
    assert package.package_arguments[1].name == "--port"
    assert package.environment_variables[0].is_secret
    rem = parse_server(json.loads((REGISTRY / "examples/valid/with-remote.json").read_text()))
    assert rem.package_types == ("remote",)
    assert rem.remotes[0].variables["host"].default == "api.example.com"
    assert rem.repository is not None and rem.repository.subfolder == "src/weather"


@pytest.mark.parametrize("path", _files("invalid"), ids=lambda p: p.name)
def test_invalid_examples_are_rejected_naming_the_field(
    path: Path, server_schema: dict[str, Any]
) -> None:
    doc = json.loads(path.read_text())
    # the reference schema agrees that the document is invalid ...
    assert list(jsonschema.Draft7Validator(server_schema).iter_errors(doc))
    # ... and our parser says which field
    with pytest.raises(ServerJsonError) as info:
        parse_server(doc)
    assert str(info.value).startswith(INVALID_FIELD[path.name] + ":") or str(info.value).startswith(
        INVALID_FIELD[path.name] + " "
    )


def test_seed_entries_parse(server_schema: dict[str, Any]) -> None:
    seed = json.loads((REGISTRY / "seed.json").read_text())
    parsed = [parse_server(doc) for doc in seed]
    assert len(parsed) == 4
    types = {t for sv in parsed for t in sv.package_types}
    assert {"npm", "oci", "mcpb", "nuget", "pypi"} <= types
    mcpb = next(p for sv in parsed for p in sv.packages if p.registry_type == "mcpb")
    assert mcpb.file_sha256 and len(mcpb.file_sha256) == 64


def test_response_meta_is_read() -> None:
    doc = {
        "server": {"name": "io.github.a/b", "description": "d", "version": "1.0.0"},
        "_meta": {
            OFFICIAL_META: {
                "status": "deprecated",
                "statusMessage": "use c",
                "publishedAt": "2025-01-01T00:00:00Z",
                "isLatest": True,
            }
        },
    }
    sv = parse_server(doc)
    assert sv.meta.status == "deprecated" and sv.meta.status_message == "use c"
    assert sv.meta.is_latest and sv.raw_meta == doc["_meta"]
    doc["_meta"][OFFICIAL_META]["status"] = "gone"
    with pytest.raises(ServerJsonError, match="status"):
        parse_server(doc)


def test_legacy_conversion_counts() -> None:
    legacy = json.loads((REGISTRY / "seed_2025_05_16_legacy.json").read_text())
    assert len(legacy) == 471
    ok, invalid = 0, 0
    for doc in legacy:
        server, meta = from_legacy(doc)
        try:
            sv = parse_server(server, {OFFICIAL_META: meta}, max_description=None)
        except ServerJsonError:
            invalid += 1
            continue
        ok += 1
        assert sv.meta.published_at == doc["version_detail"]["release_date"]
    # seven legacy entries have an empty name and version: they cannot be imported
    assert (ok, invalid) == (464, 7)


def test_legacy_docker_becomes_oci() -> None:
    legacy = json.loads((REGISTRY / "seed_2025_05_16_legacy.json").read_text())
    docker = next(
        d
        for d in legacy
        if any(p.get("registry_name") == "docker" for p in d.get("packages") or [])
    )
    server, _ = from_legacy(docker)
    assert "oci" in parse_server(server, max_description=None).package_types


def test_every_snapshot_document_validates_against_the_schema(
    server_schema: dict[str, Any],
) -> None:
    validator = jsonschema.Draft7Validator(server_schema)
    snapshot = load()
    assert snapshot.info.versions == len(snapshot.documents) > 400
    for doc in snapshot.documents:
        errors = [e.message for e in validator.iter_errors(doc["server"])]
        assert not errors, (doc["server"]["name"], errors)


def test_store_meta_keys_match_the_models() -> None:
    from registry_cache import serverjson, store

    assert store.OFFICIAL_META == serverjson.OFFICIAL_META
    assert store.CURATED_META == serverjson.CURATED_META
