"""Fixtures for the models tests. The real vLLM tier's fixtures (``vllm_server`` & co.) live in
``tests/vllm_tier.py``, loaded for the whole suite from ``tests/conftest.py``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.vllm_tier import MGX, SERVER_NAME, free_port, run_mgx  # noqa: F401  (re-exported)

DATA = Path(__file__).resolve().parent / "data"


class MetricsServer:
    """A real loopback HTTP server answering ``/metrics`` (the captured vLLM scrape with the
    running/waiting gauges set from ``self.waiting`` / ``self.running``) and ``/v1/models``.

    It stands in for a busy vLLM replica: load cannot be produced on demand with a real one.
    """

    def __init__(self, *, model: str = "tiny", api_key: str | None = None) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.waiting = 0
        self.running = 0
        self.model = model
        self.hits: list[str] = []
        outer = self
        template = (DATA / "vllm-0.32-cpu-idle.prom").read_text()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                outer.hits.append(self.path)
                if self.path == "/metrics":
                    body = _with_load(template, outer.waiting, outer.running).encode()
                    self._send(200, body, "text/plain; version=0.0.4")
                elif self.path == "/v1/models":
                    if api_key and self.headers.get("Authorization") != f"Bearer {api_key}":
                        self._send(401, b'{"error": "bad key"}', "application/json")
                        return
                    body = json.dumps({"object": "list", "data": [{"id": outer.model}]})
                    self._send(200, body.encode(), "application/json")
                elif self.path == "/health":
                    self._send(200, b"", "text/plain")
                else:
                    self._send(404, b'{"detail": "Not Found"}', "application/json")

            def do_POST(self) -> None:  # noqa: N802
                outer.hits.append(self.path)
                self._send(404, b'{"detail": "Not Found"}', "application/json")

            def _send(self, code: int, body: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def _with_load(text: str, waiting: int, running: int) -> str:
    import re

    text = re.sub(r"^(vllm:num_requests_waiting\{[^}]*\}) \S+$", rf"\g<1> {waiting}.0", text,
                  flags=re.M)  # fmt: skip
    return re.sub(r"^(vllm:num_requests_running\{[^}]*\}) \S+$", rf"\g<1> {running}.0", text,
                  flags=re.M)  # fmt: skip


@pytest.fixture
def load_servers() -> Iterator[list[MetricsServer]]:
    """Two loopback servers with settable load, closed after the test."""
    servers = [MetricsServer(), MetricsServer()]
    try:
        yield servers
    finally:
        for server in servers:
            server.close()
