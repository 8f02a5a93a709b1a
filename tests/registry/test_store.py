"""The SQLite store on a real file: search ranking, filters, status, ordering, upserts."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from registry_cache.errors import CacheError
from registry_cache.serverjson import parse_server
from registry_cache.store import Cache, decode_cursor, encode_cursor, fts_query, semver_key
from tests.registry.conftest import npm, oci, pypi, remote, server_doc

MakeCache = Callable[..., Cache]


def test_file_is_sqlite_in_wal_mode(make_cache: MakeCache) -> None:
    cache = make_cache([server_doc("io.github.a/one")])
    assert cache.path.exists()
    conn = sqlite3.connect(cache.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM versions").fetchone()[0] == 1
    finally:
        conn.close()


def test_name_matches_outrank_description_matches(make_cache: MakeCache) -> None:
    cache = make_cache(
        [
            server_doc("io.github.a/weather-tools", description="Forecasts for any city."),
            server_doc("io.github.b/calendar", description="Calendar; shows the weather too."),
            server_doc("io.github.c/notes", description="Take notes."),
        ]
    )
    hits = cache.search("weather")
    assert [h.name for h in hits] == ["io.github.a/weather-tools", "io.github.b/calendar"]
    assert hits[0].score > hits[1].score


def test_search_finds_package_identifiers_and_phrases(make_cache: MakeCache) -> None:
    cache = make_cache(
        [
            server_doc("io.github.x/clock", packages=[pypi("mcp-server-time")]),
            server_doc("io.github.y/other", description="server of time and space"),
        ]
    )
    hits = cache.search("mcp-server-time")
    assert hits[0].name == "io.github.x/clock"
    # a prefix of a word matches too (search as you type)
    assert [h.name for h in cache.search("clo")] == ["io.github.x/clock"]


def test_query_syntax_is_never_interpreted(make_cache: MakeCache) -> None:
    cache = make_cache([server_doc("io.github.a/quote")])
    for nasty in ['"', "AND", "quote OR", "NEAR(", "*", "a:b", "-quote", "quote)"]:
        cache.search(nasty)  # must not raise
    assert fts_query("a-b c") == '"a b"* AND "c"*'
    assert fts_query("!!!") is None


def test_all_words_first_then_any_word(make_cache: MakeCache) -> None:
    cache = make_cache(
        [
            server_doc("io.github.a/postgres", description="Query databases."),
            server_doc("io.github.b/redis", description="Key value store."),
        ]
    )
    assert [h.name for h in cache.search("postgres query")] == ["io.github.a/postgres"]
    # no server has both words: fall back to servers having any of them
    assert {h.name for h in cache.search("postgres redis")} == {
        "io.github.a/postgres",
        "io.github.b/redis",
    }


def test_filters_by_package_type_and_transport(make_cache: MakeCache) -> None:
    cache = make_cache(
        [
            server_doc("io.github.a/tool-npm", packages=[npm("tool-npm")]),
            server_doc("io.github.a/tool-py", packages=[pypi("tool-py")]),
            server_doc("io.github.a/tool-box", packages=[oci("ghcr.io/a/tool")]),
            server_doc(
                "io.github.a/tool-web",
                packages=[],
                remotes=[remote("https://tool.example.com/sse", "sse")],
            ),
        ]
    )
    assert [h.name for h in cache.search("tool", types=["pypi"])] == ["io.github.a/tool-py"]
    assert {h.name for h in cache.search("tool", types=["npm", "oci"])} == {
        "io.github.a/tool-npm",
        "io.github.a/tool-box",
    }
    assert [h.name for h in cache.search("tool", types=["remote"])] == ["io.github.a/tool-web"]
    assert [h.name for h in cache.search("tool", transport="sse")] == ["io.github.a/tool-web"]
    assert len(cache.search("tool", transport="stdio")) == 3
    with pytest.raises(CacheError, match="unknown package type"):
        cache.search("tool", types=["rpm"])
    with pytest.raises(CacheError, match="unknown transport"):
        cache.search("tool", transport="carrier-pigeon")


def test_deleted_hidden_deprecated_marked(make_cache: MakeCache) -> None:
    cache = make_cache(
        [
            server_doc("io.github.a/gone", status="deleted"),
            server_doc("io.github.a/old", status="deprecated"),
            server_doc("io.github.a/fine"),
        ]
    )
    hits = {h.name: h for h in cache.search("")}
    assert "io.github.a/gone" not in hits
    assert hits["io.github.a/old"].deprecated and not hits["io.github.a/fine"].deprecated
    assert "io.github.a/gone" in {h.name for h in cache.search("gone", include_deleted=True)}
    assert cache.get("io.github.a/gone", registry="official") is None
    assert cache.get("io.github.a/gone", registry="official", include_deleted=True) is not None


def test_versions_newest_first_by_semver_then_publish_time(make_cache: MakeCache) -> None:
    name = "io.github.a/multi"
    docs = [
        server_doc(name, "1.10.0", published="2025-01-01T00:00:00Z", latest=False),
        server_doc(name, "1.9.0", published="2025-06-01T00:00:00Z", latest=False),
        server_doc(name, "2.0.0-rc.1", published="2025-07-01T00:00:00Z", latest=False),
        server_doc(name, "2.0.0-beta.2", published="2025-06-15T00:00:00Z", latest=False),
        server_doc(name, "2.0.0-beta.10", published="2025-06-20T00:00:00Z", latest=False),
        server_doc(name, "2.0.0", published="2025-08-01T00:00:00Z", latest=True),
        server_doc(name, "nightly-b", published="2025-09-02T00:00:00Z", latest=False),
        server_doc(name, "nightly-a", published="2025-09-01T00:00:00Z", latest=False),
    ]
    cache = make_cache(docs)
    assert [v.version for v in cache.versions(name, registry="official")] == [
        "2.0.0",
        "2.0.0-rc.1",
        "2.0.0-beta.10",
        "2.0.0-beta.2",
        "1.10.0",
        "1.9.0",
        "nightly-b",
        "nightly-a",
    ]
    assert cache.get(name, registry="official").version == "2.0.0"
    assert semver_key("v1.2") == semver_key("1.2.0")
    assert semver_key("not a version") is None


def test_latest_moves_when_the_latest_is_deleted(make_cache: MakeCache) -> None:
    name = "io.github.a/lat"
    cache = make_cache([server_doc(name, "1.0.0", latest=False), server_doc(name, "2.0.0")])
    assert cache.get(name, registry="official").version == "2.0.0"
    cache.upsert("official", [parse_server(server_doc(name, "2.0.0", status="deleted"))])
    assert cache.get(name, registry="official").version == "1.0.0"
    assert [h.version for h in cache.search("lat")] == ["1.0.0"]
    assert [v.version for v in cache.versions(name, registry="official")] == ["1.0.0"]


def test_incremental_upsert_updates_rows_and_index(make_cache: MakeCache) -> None:
    name = "io.github.a/evolving"
    cache = make_cache([server_doc(name, "1.0.0", description="Reads spreadsheets.")])
    assert cache.search("spreadsheets") and not cache.search("presentations")
    cache.upsert(
        "official", [parse_server(server_doc(name, "1.0.0", description="Reads presentations."))]
    )
    assert not cache.search("spreadsheets")
    assert cache.search("presentations")[0].name == name
    cache.upsert("official", [parse_server(server_doc(name, "1.1.0", description="Both."))])
    assert cache.count("official") == 2
    # the index holds one row per server: its latest version
    assert [(h.name, h.version) for h in cache.search("evolving")] == [(name, "1.1.0")]


def test_registries_are_kept_apart(make_cache: MakeCache) -> None:
    cache = make_cache([server_doc("io.github.a/shared", "1.0.0")], registry="official")
    cache.upsert("team", [parse_server(server_doc("io.github.a/shared", "9.0.0"))])
    assert cache.get("io.github.a/shared", registry="team").version == "9.0.0"
    assert cache.get("io.github.a/shared", registry="official").version == "1.0.0"
    assert {h.registry for h in cache.search("shared")} == {"official", "team"}
    assert [h.registry for h in cache.search("shared", registries=["team"])] == ["team"]
    assert cache.drop_registry("team") == 1
    assert cache.registries() == ["official"]


def test_prune_replaces_old_rows_but_keeps_curated(make_cache: MakeCache) -> None:
    curated = server_doc("io.github.m/curated-one")
    curated["_meta"]["dev.mgx/curated"] = True
    cache = make_cache([server_doc("io.github.s/from-snapshot"), curated])
    gen = cache.next_gen()
    cache.upsert("official", [parse_server(server_doc("io.github.l/live"))], gen=gen)
    assert cache.prune("official", keep_gen=gen) == 1
    names = {h.name for h in cache.search("")}
    assert names == {"io.github.l/live", "io.github.m/curated-one"}
    # when the live registry has the curated server's name, the live data wins
    gen2 = cache.next_gen()
    cache.upsert(
        "official", [parse_server(server_doc("io.github.m/curated-one", "5.0.0"))], gen=gen2
    )
    cache.prune("official", keep_gen=gen2)
    assert [v.version for v in cache.versions("io.github.m/curated-one", registry="official")] == [
        "5.0.0"
    ]


def test_list_page_cursor_filters_and_errors(make_cache: MakeCache) -> None:
    docs = [
        server_doc(f"io.github.p/s{i:02d}", published=f"2025-01-{i + 1:02d}T00:00:00Z")
        for i in range(25)
    ]
    cache = make_cache(docs)
    seen, cursor, pages = [], None, 0
    while True:
        page = cache.list_page("official", cursor=cursor, limit=10)
        seen += [s.name for s in page.servers]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert pages == 3 and seen == sorted(d["server"]["name"] for d in docs)
    since = cache.list_page("official", updated_since="2025-01-20T00:00:00Z", limit=100)
    assert [s.name for s in since.servers] == [f"io.github.p/s{i:02d}" for i in range(20, 25)]
    assert [s.name for s in cache.list_page("official", search="s1").servers][:2] == [
        "io.github.p/s10",
        "io.github.p/s11",
    ]
    assert decode_cursor(encode_cursor("a/b", "1.0")) == ("a/b", "1.0")
    with pytest.raises(CacheError, match="cursor"):
        cache.list_page("official", cursor="garbage!")
    with pytest.raises(CacheError, match="updated_since"):
        cache.list_page("official", updated_since="yesterday")


def test_sync_state_round_trip(make_cache: MakeCache) -> None:
    cache = make_cache()
    assert cache.sync_state("official") is None
    cache.record_failure("official", "boom\nsecond line")
    state = cache.sync_state("official")
    assert state is not None and state.last_error == "boom" and state.last_success is None
    cache.record_success("official", watermark="2025-01-01T00:00:00.000000Z")
    state = cache.sync_state("official")
    assert state.source == "live" and state.watermark.startswith("2025-01-01")
    assert state.last_failure is not None  # history is kept


def test_failed_write_leaves_nothing(make_cache: MakeCache) -> None:
    cache = make_cache([server_doc("io.github.a/one")])
    with pytest.raises(RuntimeError):
        with cache.transaction():
            cache.upsert("official", [parse_server(server_doc("io.github.a/two"))])
            raise RuntimeError("interrupted")
    assert cache.count() == 1 and not cache.search("two")


def test_file_from_another_schema_version_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('schema', 'ancient')")
    conn.execute("CREATE TABLE versions (x)")
    conn.commit()
    conn.close()
    with Cache(path) as cache:
        assert cache.count() == 0
        assert cache.get_meta("schema") != "ancient"


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match="unusable"):
        Cache(path)


def test_readers_in_other_connections_see_only_committed_pages(make_cache: MakeCache) -> None:
    cache = make_cache([server_doc("io.github.a/one")])
    reader = Cache(cache.path, readonly=True)
    try:
        with cache.transaction():
            cache.upsert("official", [parse_server(server_doc("io.github.a/two"))])
            assert reader.count() == 1  # not committed yet
        assert reader.count() == 2
    finally:
        reader.close()
