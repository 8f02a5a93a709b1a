"""Fixtures for the installer tests: settings, the tiny MCP server, loopback HTTP servers."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from marketplace.settings import Settings
from tests.helpers import free_port

TINY_SERVER = Path(__file__).with_name("tiny_server.py")
Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@pytest.fixture
def settings(mgx_home: Path) -> Settings:
    return Settings.from_env({"MGX_HOME": str(mgx_home)})


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None:
                pytest.fail("test server exited early")
            time.sleep(0.1)
    pytest.fail(f"nothing listens on port {port}")


class LoopbackHTTP:
    """A real HTTP server on 127.0.0.1 whose routes the test defines."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            def _dispatch(self) -> None:
                path = self.path.split("?", 1)[0]
                outer.requests.append((self.command, self.path, dict(self.headers)))
                handler = outer.routes.get((self.command, path))
                if handler is None:
                    self.send_error(404)
                    return
                handler(self)

            do_GET = _dispatch  # noqa: N815 - the stdlib's naming
            do_HEAD = _dispatch  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def serve_bytes(
        self, path: str, body: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        def handler(req: http.server.BaseHTTPRequestHandler) -> None:
            req.send_response(200)
            req.send_header("Content-Type", content_type)
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            if req.command != "HEAD":
                req.wfile.write(body)

        self.routes[("GET", path)] = handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback() -> Iterator[LoopbackHTTP]:
    server = LoopbackHTTP()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def venv_python_on_path(monkeypatch: pytest.MonkeyPatch) -> str:
    """Put the test interpreter (which has the mcp SDK) first on PATH as ``python``."""
    bindir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    return bindir


@pytest.fixture
def http_tiny() -> Iterator[str]:
    """The tiny server over streamable HTTP; yields its MCP URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(TINY_SERVER), "--name", "remote-tiny", "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_listening(port, proc)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
