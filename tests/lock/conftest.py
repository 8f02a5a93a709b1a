"""Fixtures for the lock area: a real registry on loopback serving real mcpb bundles.

``world`` publishes server versions whose packages are ``.mcpb`` bundles (a small MCP server
written with the mcp SDK) served by a loopback HTTP server; the registry entries are served by
the project's own ``/v0.1`` registry server over a real SQLite cache. The user configuration
points mgx at that registry only, so installs go through the real catalog, resolver,
installers and MCP check without leaving the machine.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from marketplace.settings import Settings

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ECHO_SERVER = HERE / "echo_server.py"
MGX = [sys.executable, "-c", "import sys; from runtime.entry import main; sys.exit(main())"]
SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
OFFICIAL = "io.modelcontextprotocol.registry/official"


def make_bundle(version: str, *, fail: bool = False, require_env: str = "") -> bytes:
    """An ``.mcpb`` whose server is ``echo_server.py`` (run by the ``python`` on PATH)."""
    args = ["${__dirname}/server/main.py", "--name", "echo"]
    if fail:
        args.append("--fail")
    env = {}
    if require_env:
        args += ["--require-env", require_env]
        env[require_env] = "${user_config.token}"
    manifest: dict[str, Any] = {
        "manifest_version": "0.2",
        "name": "echo",
        "version": version,
        "server": {
            "type": "python",
            "entry_point": "server/main.py",
            "mcp_config": {"command": "python", "args": args, "env": env},
        },
    }
    if require_env:
        manifest["user_config"] = {
            "token": {"type": "string", "title": "Token", "sensitive": True, "required": True}
        }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("server/main.py", ECHO_SERVER.read_text().replace("@VERSION@", version))
    return buf.getvalue()


class Files:
    """A loopback HTTP server for bundle files; paths can be replaced (tampering)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hits: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib naming
                outer.hits.append(self.path)
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def server_doc(
    name: str,
    version: str,
    packages: list[dict[str, Any]],
    *,
    published: str = "2025-10-01T00:00:00Z",
    latest: bool = False,
    status: str = "active",
    remotes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    server: dict[str, Any] = {
        "$schema": SCHEMA,
        "name": name,
        "description": f"Test server {name.rsplit('/', 1)[-1]}.",
        "version": version,
        "packages": packages,
    }
    if remotes:
        server["remotes"] = remotes
    meta = {"status": status, "publishedAt": published, "updatedAt": published, "isLatest": latest}
    return {"server": server, "_meta": {OFFICIAL: meta}}


# The real packages the network tests install: mcp-server-time from PyPI and
# @modelcontextprotocol/server-everything from npm, each at a version whose publish date is
# just after its files' upload, so the locked dependency cut-off is real.
TIME = "io.github.modelcontextprotocol/server-time"
EVERYTHING = "io.github.modelcontextprotocol/server-everything"


def real_time_doc(*, timezone_argument: bool = False) -> dict[str, Any]:
    """mcp-server-time 2025.9.25 from PyPI (``--local-timezone`` declared when asked)."""
    package: dict[str, Any] = {
        "registryType": "pypi",
        "registryBaseUrl": "https://pypi.org",
        "identifier": "mcp-server-time",
        "version": "2025.9.25",
        "transport": {"type": "stdio"},
    }
    if timezone_argument:
        package["packageArguments"] = [
            {"type": "named", "name": "--local-timezone", "valueHint": "timezone"}
        ]
    # Published after its files' upload (21:25:58 the day before).
    return server_doc(TIME, "2025.9.25", [package], published="2025-09-26T00:00:00Z", latest=True)


def real_everything_doc() -> dict[str, Any]:
    """@modelcontextprotocol/server-everything 2025.9.25 from npm."""
    package = {
        "registryType": "npm",
        "registryBaseUrl": "https://registry.npmjs.org",
        "identifier": "@modelcontextprotocol/server-everything",
        "version": "2025.9.25",
        "transport": {"type": "stdio"},
    }
    return server_doc(
        EVERYTHING, "2025.9.25", [package], published="2025-09-25T18:00:00Z", latest=True
    )


@dataclass
class World:
    """Published servers (registry + bundle host) and the settings that point at them."""

    settings: Settings
    files: Files
    cache_path: Path
    docs: list[dict[str, Any]] = field(default_factory=list)
    registry_url: str = ""
    _stack: ExitStack = field(default_factory=ExitStack)

    def bundle(self, name: str, version: str, **kwargs: Any) -> dict[str, Any]:
        body = make_bundle(version, **kwargs)
        path = f"/{name.replace('/', '_')}-{version}.mcpb"
        self.files.files[path] = body
        return {
            "registryType": "mcpb",
            "identifier": self.files.url + path,
            "fileSha256": hashlib.sha256(body).hexdigest(),
            "transport": {"type": "stdio"},
        }

    def publish(self, name: str, versions: list[str], **kwargs: Any) -> None:
        """Publish ``versions`` of ``name`` (the last one is the registry's latest)."""
        for i, version in enumerate(versions):
            day = 1 + len(self.docs) % 27
            self.docs.append(
                server_doc(
                    name,
                    version,
                    [self.bundle(name, version, **kwargs)],
                    published=f"2025-10-{day:02d}T00:00:00Z",
                    latest=i == len(versions) - 1,
                )
            )

    def serve(self) -> str:
        """(Re)build the cache file from ``docs`` and serve it; points mgx at it."""
        from marketplace.registries import add_registry, remove_registry
        from registry_cache.server import serving
        from registry_cache.serverjson import parse_server
        from registry_cache.store import Cache

        with Cache(self.cache_path) as cache:
            cache.upsert("test", [parse_server(d) for d in self.docs])
        if not self.registry_url:
            self.registry_url = self._stack.enter_context(
                serving(self.cache_path, registry="test")
            ).url
            remove_registry(self.settings, "official")
            add_registry(self.settings, "test", self.registry_url)
        self.refresh()
        return self.registry_url

    def refresh(self) -> None:
        """Make mgx's cache pick up what was published since (a full sync)."""
        from marketplace.registries import get_registry
        from marketplace.sync import sync_registry

        sync_registry(self.settings, get_registry(self.settings, "test"), full=True)

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def settings(mgx_home: Path) -> Settings:
    return Settings.from_env({"MGX_HOME": str(mgx_home)})


@pytest.fixture
def python_on_path(monkeypatch: pytest.MonkeyPatch) -> str:
    """The test interpreter (which has the mcp SDK) first on PATH as ``python``."""
    bindir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    return bindir


@pytest.fixture
def world(
    settings: Settings, tmp_path: Path, python_on_path: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    monkeypatch.delenv("MGX_PROJECT", raising=False)
    monkeypatch.delenv("MGX_OFFLINE", raising=False)
    files = Files()
    w = World(settings=settings, files=files, cache_path=tmp_path / "registry.sqlite3")
    try:
        yield w
    finally:
        w.close()
        files.close()


@pytest.fixture
def echo_world(world: World) -> World:
    """``io.github.test/echo`` 1.0.0, 1.1.0, 1.2.0-rc.1, 2.0.0 (latest) published and served."""
    world.publish("io.github.test/echo", ["1.0.0", "1.1.0", "1.2.0-rc.1", "2.0.0"])
    world.serve()
    return world


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "proj"
    directory.mkdir()
    monkeypatch.chdir(directory)
    return directory


def run_mgx(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real ``mgx`` entry point in a subprocess (inherits MGX_HOME and PATH)."""
    return subprocess.run(
        [*MGX, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
