"""A tiny real HTTP server on loopback that answers from a script: for fault injection.

Each request pops the next step for its path prefix; a step is a status, a body (bytes or a
JSON-able value), an optional delay, and flags for broken responses. Requests are recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Step:
    status: int = 200
    body: Any = None
    delay: float = 0.0
    declared_length: int | None = None  # lie about Content-Length (a truncated transfer)


@dataclass
class Script:
    steps: dict[str, list[Step]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def add(self, prefix: str, *steps: Step) -> None:
        self.steps.setdefault(prefix, []).extend(steps)

    def next_for(self, path: str) -> Step:
        for prefix in sorted(self.steps, key=len, reverse=True):
            if path.startswith(prefix) and self.steps[prefix]:
                queue = self.steps[prefix]
                return queue.pop(0) if len(queue) > 1 else queue[0]
        return Step(404, {"error": "not scripted"})


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        script = self.server.script
        script.requests.append((self.path, dict(self.headers.items())))
        step = script.next_for(self.path)
        if step.delay:
            time.sleep(step.delay)
        body = step.body
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(step.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(step.declared_length or len(data)))
        if step.declared_length:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            pass  # the client gave up (timeout test)
        if step.declared_length:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    script: Script


@contextmanager
def scripted_server(script: Script) -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.script = script
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
