"""Sync end to end: the project's registry server on loopback -> client -> cache -> catalog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from marketplace.catalog import Catalog, open_cache
from marketplace.errors import NotFoundError, RegistryError
from marketplace.registries import add_registry, get_registry
from marketplace.settings import Settings
from marketplace.sync import SyncProgress, sync_registry
from registry_cache.serverjson import parse_server
from registry_cache.store import Cache
from tests.registry.conftest import pypi, server_doc
from tests.registry.scripted import Script, Step, scripted_server


def _docs(n: int, versions: int = 2) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        for v in range(versions):
            stamp = f"2025-04-{i % 28 + 1:02d}T00:00:{v:02d}Z"
            out.append(
                server_doc(
                    f"io.github.t/srv-{i:03d}",
                    f"1.{v}.0",
                    published=stamp,
                    latest=v == versions - 1,
                )
            )
    return out


def test_full_then_incremental_sync(
    settings: Settings, make_cache: Callable[..., Cache], serve_docs: Callable[..., str]
) -> None:
    from registry_cache.server import serving

    upstream = make_cache(_docs(130))
    with serving(upstream.path, registry="official") as running:
        team = add_registry(settings, "team", running.url)
        seen: list[SyncProgress] = []
        first = sync_registry(settings, team, progress=seen.append)
        assert first.full and first.servers == 260 and first.pages == 3
        assert first.skipped_invalid == 0 and [p.pages for p in seen] == [1, 2, 3]
        assert first.watermark and first.watermark.startswith("2025-04-28T00:00:01")

        again = sync_registry(settings, team)
        assert not again.full and again.servers == 0 and again.pages == 1

        # upstream changes: a new version, a deletion
        upstream.upsert(
            "official",
            [
                parse_server(
                    server_doc("io.github.t/srv-001", "2.0.0", published="2025-05-02T00:00:00Z")
                ),
                parse_server(
                    server_doc(
                        "io.github.t/srv-002",
                        "1.1.0",
                        status="deleted",
                        published="2025-05-03T00:00:00Z",
                    )
                ),
            ],
        )
        third = sync_registry(settings, team)
        assert not third.full and third.servers == 2
        with Catalog(settings, offline=True) as catalog:
            assert catalog.get("io.github.t/srv-001", registry="team").version == "2.0.0"
            assert [
                v.version for v in catalog.versions("io.github.t/srv-002", registry="team")
            ] == ["1.0.0"]
            assert not catalog.notes  # synced moments ago: fresh, nothing to say


def test_live_sync_replaces_the_snapshot_but_keeps_curated(
    settings: Settings, serve_docs: Callable[..., str]
) -> None:
    with open_cache(settings) as cache:
        assert cache.count("official") > 400  # the bundled snapshot
    url = serve_docs([server_doc("io.github.live/only-one", packages=[pypi("only-one")])])
    add_registry(settings, "official", url)  # point the official registry at a mirror
    summary = sync_registry(settings, get_registry(settings, "official"))
    assert summary.full and summary.pruned > 400
    with Catalog(settings, offline=True) as catalog:
        names = {h.name for h in catalog.search("", limit=100)}
    assert "io.github.live/only-one" in names
    assert "io.github.domdomegg/airtable-mcp-server" not in names
    assert "io.github.modelcontextprotocol/server-time" in names  # curated entries stay


def test_an_invalid_document_does_not_abort_a_sync(settings: Settings) -> None:
    bad = server_doc("io.github.t/bad")
    bad["server"]["name"] = "no-slash"
    script = Script()
    script.add(
        "/v0.1/servers",
        Step(200, {"servers": [server_doc("io.github.t/good"), bad], "metadata": {"count": 2}}),
    )
    with scripted_server(script) as url:
        summary = sync_registry(settings, add_registry(settings, "team", url))
    assert summary.servers == 1 and summary.skipped_invalid == 1
    assert summary.skipped[0].name == "no-slash"


def test_failure_is_recorded_and_pages_so_far_kept(settings: Settings) -> None:
    script = Script()
    script.add(
        "/v0.1/servers",
        Step(200, {"servers": [server_doc("io.github.t/p1")], "metadata": {"nextCursor": "x"}}),
        Step(200, b"<html>proxy error</html>"),
    )
    with scripted_server(script) as url:
        team = add_registry(settings, "team", url)
        with pytest.raises(RegistryError, match="invalid JSON"):
            sync_registry(settings, team)
    with open_cache(settings) as cache:
        state = cache.sync_state("team")
        assert state is not None and state.last_failure and "invalid JSON" in state.last_error
        assert state.last_success is None and state.watermark is None
        assert cache.get("io.github.t/p1", registry="team") is not None


def test_catalog_notes_unreachable_and_backs_off(settings: Settings) -> None:
    script = Script()
    script.add("/v0.1/servers", Step(503, {"error": "down"}))
    with scripted_server(script) as url:
        add_registry(settings, "official", url)
        with Catalog(settings) as catalog:
            hits = catalog.search("time")
            assert hits[0].name == "io.github.modelcontextprotocol/server-time"
            (note,) = catalog.notes
        assert note.startswith("registry 'official' unreachable; showing cached data from ")
        assert note.endswith("(bundled snapshot)")
        attempts = len(script.requests)
        assert attempts == 1  # a quick refresh does not retry
        # a second command within ten minutes does not try again, and says the same
        with Catalog(settings) as catalog:
            catalog.search("time")
            assert catalog.notes == [note]
        assert len(script.requests) == attempts


def test_catalog_refreshes_stale_data_once_then_stays_quiet(
    settings: Settings, serve_docs: Callable[..., str]
) -> None:
    url = serve_docs([server_doc("io.github.t/fresh-one")])
    add_registry(settings, "team", url)
    with Catalog(settings) as catalog:
        assert [h.name for h in catalog.search("fresh", registry="team")] == [
            "io.github.t/fresh-one"
        ]
        assert not catalog.notes
    # a day later the data is stale again: the next command syncs (incrementally)
    with open_cache(settings) as cache:
        state = cache.sync_state("team")
        assert state is not None and state.source == "live"
        old = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        cache.record_success("team", watermark=state.watermark, at=old)
    with Catalog(settings) as catalog:
        catalog.search("fresh", registry="team")
        assert not catalog.notes
    with open_cache(settings) as cache:
        assert cache.sync_state("team").last_success > old


def test_offline_never_contacts_a_registry(settings: Settings) -> None:
    script = Script()
    script.add("/", Step(200, {"servers": []}))
    with scripted_server(script) as url:
        add_registry(settings, "official", url)
        with Catalog(settings, offline=True) as catalog:
            assert catalog.search("fetch")[0].name.endswith("/server-fetch")
            assert catalog.notes[0].startswith("offline: registry 'official'; showing cached")
    assert script.requests == []


def test_catalog_lookups(settings: Settings) -> None:
    with Catalog(settings, offline=True) as catalog:
        time_server = "io.github.modelcontextprotocol/server-time"
        versions = [v.version for v in catalog.versions(time_server)]
        assert len(versions) >= 3 and versions == sorted(
            versions, key=lambda v: tuple(int(x) for x in v.split(".")), reverse=True
        )
        assert catalog.get(time_server).version == versions[0]
        assert catalog.get(time_server, versions[-1]).version == versions[-1]
        # short names and package identifiers resolve when unambiguous
        assert catalog.locate("mcp-server-time")[1] == time_server
        assert catalog.locate("@modelcontextprotocol/server-everything")[1].endswith(
            "/server-everything"
        )
        assert catalog.registry_url_for(time_server) == "https://registry.modelcontextprotocol.io"
        with pytest.raises(NotFoundError, match="no server named 'io.github.x/none'"):
            catalog.get("io.github.x/none")
        with pytest.raises(NotFoundError, match=r"no version '0.0.0'.*available: "):
            catalog.get(time_server, "0.0.0")
        catalog.cache.upsert("official", [parse_server(server_doc("io.github.o/server-time"))])
        with pytest.raises(NotFoundError, match="'server-time' is ambiguous"):
            catalog.locate("server-time")


def test_an_interrupted_full_sync_resumes(
    settings: Settings, make_cache: Callable[..., Cache]
) -> None:
    from registry_cache.server import serving

    upstream = make_cache(_docs(125))  # 250 versions: 3 pages of 100
    with serving(upstream.path, registry="official") as running:
        team = add_registry(settings, "team", running.url)
        with pytest.raises(RegistryError, match="did not finish within 0s"):
            sync_registry(settings, team, deadline_s=0)  # stops after the first page
        with open_cache(settings) as cache:
            state = cache.sync_state("team")
            assert state is not None and state.resume_cursor and state.last_success is None
            assert cache.count("team") == 100
        with Catalog(settings, offline=False) as catalog:  # within the back-off: no attempt
            catalog.search("srv", registry="team")
            assert "not fully synced yet" in catalog.notes[0]
        summary = sync_registry(settings, team)
        assert summary.full and summary.resumed and summary.pages == 2
        with open_cache(settings) as cache:
            assert cache.count("team") == 250  # the first attempt's page was kept, not pruned
            state = cache.sync_state("team")
            assert state is not None and state.source == "live" and state.resume_cursor is None
            assert state.watermark and state.watermark.startswith("2025-04-28T00:00:01")


def test_a_rejected_resume_cursor_starts_over(
    settings: Settings, make_cache: Callable[..., Cache]
) -> None:
    from registry_cache.server import serving

    upstream = make_cache(_docs(125))
    with serving(upstream.path, registry="official") as running:
        team = add_registry(settings, "team", running.url)
        with pytest.raises(RegistryError):
            sync_registry(settings, team, deadline_s=0)
        with open_cache(settings) as cache:
            cache.save_progress("team", cursor="no-longer-valid", gen=1, watermark=None)
        summary = sync_registry(settings, team)
        assert summary.full and not summary.resumed and summary.pages == 3
        assert summary.servers == 250
