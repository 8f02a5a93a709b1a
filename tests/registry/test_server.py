"""`mgx registry serve` conformance with the official OpenAPI description (openapi.yaml)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
import pytest

from registry_cache.server import serving
from registry_cache.store import Cache
from tests.registry.conftest import pypi, remote, server_doc

NAMES = [f"io.github.org{i % 3}/server-{i:02d}" for i in range(23)]


@pytest.fixture
def docs() -> list[dict[str, Any]]:
    out = []
    for i, name in enumerate(NAMES):
        day = f"2025-03-{i + 1:02d}T10:00:00Z"
        out.append(server_doc(name, "1.0.0", published=day, latest=False))
        out.append(
            server_doc(
                name,
                "1.1.0+build.7",
                published=day,
                updated=day,
                packages=[pypi(f"pkg-{i}", "1.1.0")],
                remotes=[remote(f"https://s{i}.example.com/mcp")],
            )
        )
    out.append(server_doc("io.github.gone/removed", status="deleted"))
    out.append(server_doc("io.github.old/legacy", status="deprecated"))
    return out


@pytest.fixture
def url(serve_docs: Callable[..., str], docs: list[dict[str, Any]]) -> str:
    return serve_docs(docs)


def _validator(openapi: dict[str, Any], component: str) -> jsonschema.Validator:
    schema = {"$ref": f"#/components/schemas/{component}", "components": openapi["components"]}
    return jsonschema.Draft202012Validator(schema)


def _get(url: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(url + path, params=params, timeout=30)


@pytest.mark.parametrize("prefix", ["/v0.1", "/v0"])
def test_list_pages_cover_everything_exactly_once(
    url: str, openapi: dict[str, Any], prefix: str
) -> None:
    validator = _validator(openapi, "ServerList")
    seen: list[tuple[str, str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        response = _get(url, f"{prefix}/servers", **params)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        validator.validate(body)
        assert body["metadata"]["count"] == len(body["servers"]) <= 7
        seen += [(s["server"]["name"], s["server"]["version"]) for s in body["servers"]]
        cursor = body["metadata"].get("nextCursor")
        if not cursor:
            break
    # every non-deleted version, once: 23 servers x 2 versions + the deprecated one
    assert len(seen) == len(set(seen)) == 23 * 2 + 1
    assert ("io.github.gone/removed", "1.0.0") not in seen


def test_list_filters(url: str, openapi: dict[str, Any]) -> None:
    validator = _validator(openapi, "ServerList")
    latest = _get(url, "/v0.1/servers", version="latest", limit=100).json()
    validator.validate(latest)
    assert {s["server"]["version"] for s in latest["servers"]} == {"1.1.0+build.7", "1.0.0"}
    assert len(latest["servers"]) == 24
    assert all(
        s["_meta"]["io.modelcontextprotocol.registry/official"]["isLatest"]
        for s in latest["servers"]
    )
    exact = _get(url, "/v0.1/servers", version="1.0.0", limit=100).json()
    assert {s["server"]["version"] for s in exact["servers"]} == {"1.0.0"}
    found = _get(url, "/v0.1/servers", search="org1/", limit=100).json()
    assert {s["server"]["name"] for s in found["servers"]} == {n for n in NAMES if "org1/" in n}
    with_deleted = _get(url, "/v0.1/servers", include_deleted="true", limit=100).json()
    assert "io.github.gone/removed" in {s["server"]["name"] for s in with_deleted["servers"]}
    deprecated = next(s for s in latest["servers"] if s["server"]["name"] == "io.github.old/legacy")
    assert (
        deprecated["_meta"]["io.modelcontextprotocol.registry/official"]["status"] == "deprecated"
    )


def test_updated_since_returns_changes_and_deletions(url: str) -> None:
    body = _get(url, "/v0.1/servers", updated_since="2025-03-20T00:00:00Z", limit=100).json()
    names = {s["server"]["name"] for s in body["servers"]}
    # changed versions, and deleted ones too: a mirror must learn about deletions
    assert names == {n for i, n in enumerate(NAMES) if i + 1 >= 20} | {
        "io.github.gone/removed",
        "io.github.old/legacy",
    }
    # nanosecond timestamps as the Go registry writes them are accepted
    body = _get(url, "/v0.1/servers", updated_since="2025-03-22T10:00:00.000000001Z").json()
    names = {s["server"]["name"] for s in body["servers"]}
    assert NAMES[22] in names and NAMES[21] not in names  # strictly after the timestamp


def test_versions_endpoint(url: str, openapi: dict[str, Any]) -> None:
    name = NAMES[4]
    for encoded in (quote(name, safe=""), name):  # %2F and a raw slash both work
        response = _get(url, f"/v0.1/servers/{encoded}/versions")
        assert response.status_code == 200
        body = response.json()
        _validator(openapi, "ServerList").validate(body)
        assert [s["server"]["version"] for s in body["servers"]] == ["1.1.0+build.7", "1.0.0"]


def test_version_endpoint_with_latest_and_encoded_versions(
    url: str, openapi: dict[str, Any]
) -> None:
    validator = _validator(openapi, "ServerResponse")
    name = quote(NAMES[2], safe="")
    latest = _get(url, f"/v0.1/servers/{name}/versions/latest").json()
    validator.validate(latest)
    assert latest["server"]["version"] == "1.1.0+build.7"
    exact = _get(url, f"/v0.1/servers/{name}/versions/{quote('1.1.0+build.7', safe='')}")
    assert exact.status_code == 200 and exact.json() == latest
    older = _get(url, f"/v0/servers/{name}/versions/1.0.0").json()
    validator.validate(older)
    assert older["_meta"]["io.modelcontextprotocol.registry/official"]["isLatest"] is False


@pytest.mark.parametrize(
    "path",
    [
        "/v0.1/servers/io.github.nobody%2Fnothing/versions",
        "/v0.1/servers/io.github.nobody%2Fnothing/versions/latest",
        f"/v0.1/servers/{quote(NAMES[0], safe='')}/versions/9.9.9",
        "/v0.1/servers/io.github.gone%2Fremoved/versions/1.0.0",
        "/v0.1/nothing-here",
    ],
)
def test_not_found_is_json(url: str, path: str) -> None:
    response = _get(url, path)
    assert response.status_code == 404
    assert isinstance(response.json()["error"], str) and response.json()["error"]


def test_deleted_visible_with_include_deleted(url: str) -> None:
    response = _get(
        url, "/v0.1/servers/io.github.gone%2Fremoved/versions/1.0.0", include_deleted="true"
    )
    assert response.status_code == 200
    meta = response.json()["_meta"]["io.modelcontextprotocol.registry/official"]
    assert meta["status"] == "deleted"


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "ten"},
        {"limit": "0"},
        {"cursor": "not-a-cursor"},
        {"updated_since": "last tuesday"},
        {"include_deleted": "maybe"},
    ],
)
def test_bad_parameters_are_400(url: str, params: dict[str, str]) -> None:
    response = _get(url, "/v0.1/servers", **params)
    assert response.status_code == 400
    assert response.json()["error"]


def test_limit_is_capped_and_health(url: str) -> None:
    body = _get(url, "/v0.1/servers", limit=1000).json()
    assert body["metadata"]["count"] == 47 and "nextCursor" not in body["metadata"]
    assert _get(url, "/health").json()["status"] == "ok"
    assert httpx.post(url + "/v0.1/publish", json={}, timeout=30).status_code == 405


def test_serves_the_bundled_snapshot_and_stops_cleanly(settings: Any) -> None:
    from marketplace.catalog import open_cache

    open_cache(settings).close()
    with serving(settings.cache_db, registry="official") as running:
        body = _get(running.url, "/v0.1/servers", search="server-time", version="latest").json()
        assert [s["server"]["name"] for s in body["servers"]] == [
            "io.github.modelcontextprotocol/server-time"
        ]
        assert body["servers"][0]["_meta"]["dev.mgx/curated"] is True
        url = running.url
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/health", timeout=2)


def test_served_documents_round_trip_through_the_cache(
    url: str, make_cache: Callable[..., Cache]
) -> None:
    # What we serve parses back to what we stored (server.json passes through unchanged).
    from registry_cache.serverjson import parse_server

    body = _get(url, f"/v0.1/servers/{quote(NAMES[1], safe='')}/versions/latest").json()
    sv = parse_server(body)
    assert (
        sv.packages[0].identifier == "pkg-1" and sv.remotes[0].url == "https://s1.example.com/mcp"
    )


def test_connections_of_finished_clients_are_closed(make_cache: Callable[..., Cache]) -> None:
    from registry_cache.server import make_server

    cache = make_cache([server_doc("io.github.a/one")])
    server = make_server(cache.path, registry="official")
    import threading

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        host, port = server.server_address[:2]
        for _ in range(20):  # twenty separate client connections
            assert httpx.get(f"http://{host}:{port}/health", timeout=30).status_code == 200
        open_now = len(server.cache._connections)  # noqa: SLF001 (what this test is about)
        assert open_now <= 2
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        server.cache.close()
