"""The bundled snapshot: built from the registry seed data plus curated entries, imported once."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from registry_cache import snapshot
from registry_cache.store import Cache
from tests.conftest import TEST_DATA

SEED = TEST_DATA / "registry" / "seed.json"
LEGACY = TEST_DATA / "registry" / "seed_2025_05_16_legacy.json"


def test_bundled_snapshot_is_current_with_its_sources(tmp_path: Path) -> None:
    """Rebuilding from the sources gives exactly the bundled data (run the build if not)."""
    bundled = snapshot.load()
    out = tmp_path / "rebuilt.json.gz"
    report = snapshot.build(SEED, LEGACY, out=out, built_at=bundled.info.built_at)
    assert out.read_bytes() == snapshot.SNAPSHOT_FILE.read_bytes(), (
        "the bundled snapshot is stale: run `python -m registry_cache.snapshot build`"
    )
    assert report.counts == {
        "seed": 4,
        "legacy": 464,
        "legacy_skipped_invalid": 7,
        "legacy_duplicates": 0,
        "legacy_descriptions_shortened": 103,
        "curated": report.counts["curated"],
    }
    assert report.counts["curated"] >= 8


def test_curated_entries_name_real_packages_and_publish_times() -> None:
    docs = snapshot.load().documents
    curated = [d for d in docs if d["_meta"].get("dev.mgx/curated")]
    identifiers = {d["server"]["packages"][0]["identifier"] for d in curated}
    assert identifiers == {
        "mcp-server-time",
        "mcp-server-fetch",
        "@modelcontextprotocol/server-everything",
        "@modelcontextprotocol/server-filesystem",
    }
    for doc in curated:
        package = doc["server"]["packages"][0]
        assert package["version"] == doc["server"]["version"]
        published = doc["_meta"]["io.modelcontextprotocol.registry/official"]["publishedAt"]
        assert published.startswith("20")
    per_name: dict[str, int] = {}
    for doc in curated:
        per_name[doc["server"]["name"]] = per_name.get(doc["server"]["name"], 0) + 1
    assert min(per_name.values()) >= 2  # a few real versions each


def test_import_once_in_one_transaction(tmp_path: Path) -> None:
    with Cache(tmp_path / "c.sqlite3") as cache:
        assert snapshot.ensure_imported(cache, "official") is True
        count = cache.count("official")
        assert count == snapshot.load().info.versions
        assert snapshot.ensure_imported(cache, "official") is False
        assert cache.count("official") == count
        state = cache.sync_state("official")
        assert state is not None and state.source == "snapshot" and state.last_success is None


def test_damaged_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from registry_cache.errors import CacheError

    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(json.dumps({"format": 1}).encode()))
    with pytest.raises(CacheError, match="unreadable"):
        snapshot.load(bad)
    with Cache(tmp_path / "c.sqlite3") as cache:
        with pytest.raises(CacheError):
            snapshot.ensure_imported(cache, "official", path=bad)
        assert cache.count() == 0 and cache.get_meta(snapshot.IMPORTED_KEY) is None
