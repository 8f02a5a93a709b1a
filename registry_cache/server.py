"""``mgx registry serve``: the cache served over the MCP Registry read API.

Routes (``/v0`` answers the same as ``/v0.1``)::

    GET /health
    GET /v0.1/servers?cursor=&limit=&search=&updated_since=&version=&include_deleted=
    GET /v0.1/servers/{serverName}/versions[?include_deleted=]
    GET /v0.1/servers/{serverName}/versions/{version}[?include_deleted=]   (version may be latest)

Names and versions arrive URL-encoded (``com.example%2Fmy-server``); a raw ``/`` in the name
is accepted too. Errors are JSON ``{"error": "..."}`` with 400 (bad parameter), 404, 405.
The stdlib ThreadingHTTPServer is enough: reads are SQLite queries on per-thread connections.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from registry_cache.errors import CacheError
from registry_cache.store import Cache, ListedServer

DEFAULT_LIMIT = 30
MAX_LIMIT = 100
_PREFIXES = ("/v0.1", "/v0")
_VERSIONS = re.compile(r"^/servers/(?P<name>.+?)/versions(?:/(?P<version>[^/]+))?/?$")


class BadRequest(Exception):
    pass


@dataclass(frozen=True, kw_only=True)
class ServeConfig:
    registry: str  # which registry's rows in the cache are served


def _flag(query: dict[str, list[str]], key: str) -> bool:
    values = query.get(key)
    if not values:
        return False
    value = values[-1].lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no", ""):
        return False
    raise BadRequest(f"{key} must be true or false, got {values[-1]!r}")


def _one(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[-1] if values else None


def _response_json(item: ListedServer) -> str:
    # server_json is stored as the registry sent it; splice instead of re-encoding every page
    return '{"server":' + item.server_json + ',"_meta":' + json.dumps(item.meta) + "}"


def _list_json(
    items: list[ListedServer] | tuple[ListedServer, ...], next_cursor: str | None
) -> str:
    metadata: dict[str, object] = {"count": len(items)}
    if next_cursor:
        metadata["nextCursor"] = next_cursor
    return (
        '{"servers":['
        + ",".join(_response_json(i) for i in items)
        + '],"metadata":'
        + json.dumps(metadata)
        + "}"
    )


class _Handler(BaseHTTPRequestHandler):
    server: _RegistryHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive: a sync fetches hundreds of pages

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        if self.server.log is not None:
            self.server.log(format % args)

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, json.dumps({"error": message}))

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        try:
            status, body = self._route()
        except BadRequest as exc:
            self._error(400, str(exc))
        except CacheError as exc:
            self._error(400, str(exc))
        except Exception as exc:  # a bug must not kill the server thread silently
            self._error(500, f"internal error: {type(exc).__name__}")
            raise
        else:
            self._send(status, body)

    do_HEAD = do_GET

    def _not_allowed(self) -> None:
        self._error(405, f"{self.command} is not supported: this registry is read-only")

    do_POST = do_PUT = do_PATCH = do_DELETE = _not_allowed

    def _route(self) -> tuple[int, str]:
        split = urlsplit(self.path)
        path = split.path
        query = parse_qs(split.query, keep_blank_values=True)
        if path in ("/health", "/v0/health", "/v0.1/health"):
            cache = self.server.cache
            return 200, json.dumps(
                {
                    "status": "ok",
                    "registry": self.server.config.registry,
                    "versions": cache.count(self.server.config.registry),
                }
            )
        for prefix in _PREFIXES:
            if path == prefix + "/servers" or path == prefix + "/servers/":
                return self._list(query)
            if path.startswith(prefix + "/servers/"):
                m = _VERSIONS.match(path[len(prefix) :])
                if m:
                    return self._versions(unquote(m["name"]), m["version"], query)
        return 404, json.dumps({"error": f"no such endpoint: {path}"})

    def _list(self, query: dict[str, list[str]]) -> tuple[int, str]:
        raw_limit = _one(query, "limit")
        limit = DEFAULT_LIMIT
        if raw_limit is not None:
            try:
                limit = int(raw_limit)
            except ValueError:
                raise BadRequest(f"limit must be an integer, got {raw_limit!r}") from None
            if limit < 1:
                raise BadRequest("limit must be at least 1")
            limit = min(limit, MAX_LIMIT)
        page = self.server.cache.list_page(
            self.server.config.registry,
            cursor=_one(query, "cursor") or None,
            limit=limit,
            updated_since=_one(query, "updated_since") or None,
            version=_one(query, "version") or None,
            include_deleted=_flag(query, "include_deleted"),
            search=_one(query, "search") or None,
        )
        return 200, _list_json(page.servers, page.next_cursor)

    def _versions(
        self, name: str, version: str | None, query: dict[str, list[str]]
    ) -> tuple[int, str]:
        include_deleted = _flag(query, "include_deleted")
        cache, registry = self.server.cache, self.server.config.registry
        if version is None:
            items = cache.served_versions(name, registry=registry, include_deleted=include_deleted)
            if not items:
                return 404, json.dumps({"error": f"Server not found: {name}"})
            return 200, _list_json(items, None)
        version = unquote(version)
        item = cache.served_version(
            name, version, registry=registry, include_deleted=include_deleted
        )
        if item is None:
            what = "Server" if not cache.has_server(name, registry=registry) else "Server version"
            return 404, json.dumps({"error": f"{what} not found: {name} {version}"})
        return 200, _response_json(item)


class _RegistryHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        cache: Cache,
        config: ServeConfig,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.cache = cache
        self.config = config
        self.log = log

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        # One thread per client connection, each with its own SQLite connection: close it
        # when the thread ends, or a long-running server would collect them.
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.cache.release_thread()


@dataclass(frozen=True, kw_only=True)
class RunningServer:
    url: str  # e.g. http://127.0.0.1:38211 (no trailing slash)
    host: str
    port: int


def make_server(
    cache_path: Path | str,
    *,
    registry: str,
    host: str = "127.0.0.1",
    port: int = 0,
    log: Callable[[str], None] | None = None,
) -> _RegistryHTTPServer:
    """Bind a server (not yet serving) over the cache at ``cache_path``; port 0 picks a free one."""
    cache = Cache(cache_path, readonly=True)
    try:
        return _RegistryHTTPServer((host, port), cache, ServeConfig(registry=registry), log)
    except OSError as exc:
        cache.close()
        raise CacheError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def url_of(server: _RegistryHTTPServer) -> str:
    host, port = server.server_address[:2]
    text = host.decode() if isinstance(host, bytes) else str(host)
    shown = f"[{text}]" if ":" in text else text
    return f"http://{shown}:{port}"


@contextmanager
def serving(
    cache_path: Path | str, *, registry: str, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningServer]:
    """Serve the cache in a background thread for the duration of the block.

    Yields the bound address (use ``port=0`` in tests). The server is shut down and its
    connections closed on exit, whatever happened inside.
    """
    server = make_server(cache_path, registry=registry, host=host, port=port)
    # a short poll interval makes shutdown quick (tests start and stop many servers)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="mgx-registry",
        daemon=True,
    )
    thread.start()
    try:
        host_, port_ = server.server_address[:2]
        yield RunningServer(url=url_of(server), host=str(host_), port=int(port_))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        server.cache.close()


def serve_forever(server: _RegistryHTTPServer) -> None:
    """Serve until interrupted (Ctrl-C), then release the socket and the cache."""
    try:
        server.serve_forever()
    finally:
        server.server_close()
        server.cache.close()
