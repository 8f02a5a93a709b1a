"""A scripted OpenAI-compatible HTTP server on loopback, for tests and benchmarks.

It is a real server (``ThreadingHTTPServer`` on 127.0.0.1, port 0, one thread per
connection, HTTP/1.1 keep-alive, chunked streaming) that answers
``POST /v1/chat/completions`` by replaying a script, one step per request::

    with ScriptedLLM([Reply(content="hi"), Fail(500), Reply(tool_calls=[call("f", {})])]) as llm:
        client = ChatClient(llm.url, "scripted")
        ...
        assert llm.requests[0]["messages"][0]["role"] == "system"

Steps:
    Reply(...)   a whole answer (content, reasoning, tool calls); streamed in small chunks
                 when the request asks for ``stream``, as one JSON body otherwise
    Stream(...)  explicit SSE events (chunk dicts or raw text lines), streamed whatever the
                 request asked, to split tool-call deltas where a test wants them split
    Fail(...)    an HTTP error status with a body (and headers such as Retry-After)
    Drop(...)    stream some events, then close the socket mid-response (no events: close
                 before sending anything)
    Delay(s, step)  wait, then play ``step``
    a callable   ``f(request_body) -> step``, chosen per request (e.g. answer valid JSON
                 only when ``response_format`` is present)

It also serves ``GET /v1/models``, ``GET /health`` (``healthy = False`` gives 503) and
``GET /metrics`` (vLLM-style Prometheus text from live counters, or ``metrics=`` text or
callable), records every chat request body in ``requests``, tracks ``in_flight`` and
``max_in_flight``, and adds ``latency`` seconds before every chat answer.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "Delay",
    "Drop",
    "Fail",
    "Reply",
    "ScriptedLLM",
    "Stream",
    "call",
    "chunk",
    "tool_delta",
]

MODEL = "scripted"
_NO_HEADERS: Mapping[str, str] = {}


# -- steps ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A whole answer. ``tool_calls`` are wire-form dicts (see ``call``)."""

    content: str | None = None
    reasoning: str | None = None
    tool_calls: Sequence[Mapping[str, Any]] = ()
    finish_reason: str | None = None  # default: "tool_calls" with calls, else "stop"
    usage: Mapping[str, int] | None = None  # default: a rough count (4 chars a token)
    piece: int = 7  # characters per streamed delta
    stream: bool | None = None  # force streamed (True) or whole (False); None: as asked


@dataclass(frozen=True)
class Stream:
    """Explicit SSE events: dicts are sent as ``data: <json>``, strings as written (so a
    test can send comments, malformed data or events without a blank line)."""

    events: Sequence[Mapping[str, Any] | str]
    done: bool = True  # end with ``data: [DONE]``
    gap_s: float = 0.0  # pause between events


@dataclass(frozen=True)
class Fail:
    status: int = 500
    body: Mapping[str, Any] | str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Drop:
    """Send these events (with headers), then close the connection mid-response."""

    events: Sequence[Mapping[str, Any] | str] = ()


@dataclass(frozen=True)
class Delay:
    seconds: float
    then: Any


Step = Reply | Stream | Fail | Drop | Delay | Callable[[dict[str, Any]], Any]


# -- helpers to write steps ------------------------------------------------------------------


def call(name: str, arguments: Mapping[str, Any] | str, id: str | None = None) -> dict[str, Any]:
    """A wire-form tool call; ``arguments`` may be given as raw text to send garbage."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    out: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": args}}
    if id is not None:
        out["id"] = id
    return out


def tool_delta(
    index: int | None = 0,
    *,
    id: str | None = None,
    name: str | None = None,
    arguments: str | None = None,
) -> dict[str, Any]:
    """One streamed tool-call delta; only the given fields are present."""
    out: dict[str, Any] = {}
    if index is not None:
        out["index"] = index
    if id is not None:
        out["id"] = id
        out["type"] = "function"
    fn: dict[str, Any] = {}
    if name is not None:
        fn["name"] = name
    if arguments is not None:
        fn["arguments"] = arguments
    if fn:
        out["function"] = fn
    return out


def chunk(
    *,
    content: str | None = None,
    reasoning: str | None = None,
    tool_calls: Sequence[Mapping[str, Any]] | None = None,
    finish_reason: str | None = None,
    usage: Mapping[str, int] | None = None,
    role: str | None = None,
    choices: bool = True,
) -> dict[str, Any]:
    """A ``chat.completion.chunk``; with no fields, an empty delta."""
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning_content"] = reasoning
    if tool_calls is not None:
        delta["tool_calls"] = list(tool_calls)
    out: dict[str, Any] = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
        if choices
        else [],
    }
    if usage is not None:
        out["usage"] = dict(usage)
    return out


# -- the server ------------------------------------------------------------------------------


class ScriptedLLM:
    """The server; start it with ``with`` (or ``start()``/``stop()``)."""

    def __init__(
        self,
        script: Iterable[Step] = (),
        *,
        latency: float = 0.0,
        default: Step | None = None,
        models: Sequence[str] = (MODEL,),
        api_key: str | None = None,
        metrics: str | Callable[[ScriptedLLM], str] | None = None,
        routes: Mapping[str, Callable[[dict[str, Any]], tuple[int, Any]]] | None = None,
    ) -> None:
        self.script: deque[Step] = deque(script)
        self.latency = latency
        self.default = default  # played when the script is empty; None: HTTP 500
        self.models = list(models)
        self.api_key = api_key
        self.metrics = metrics
        self.routes = dict(routes or {})  # "POST /v1/load_lora_adapter" -> f(body)
        self.healthy = True
        self.waiting = 0  # reported as vllm:num_requests_waiting
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.prompt_tokens = 0
        self.generation_tokens = 0
        self.prefix_queries = 0
        self.prefix_hits = 0
        self._prompts: deque[str] = deque(maxlen=32)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()

    # lifecycle

    def start(self) -> ScriptedLLM:
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:  # idle keep-alive connections would otherwise linger
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None

    def __enter__(self) -> ScriptedLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The OpenAI API root, ``http://127.0.0.1:PORT/v1``."""
        return self.base + "/v1"

    def add(self, *steps: Step) -> None:
        """Append steps to the script."""
        with self._lock:
            self.script.extend(steps)

    # request handling (called from handler threads)

    def _next_step(self, body: dict[str, Any]) -> Step | None:
        with self._lock:
            self.requests.append(body)
            step = self.script.popleft() if self.script else self.default
        while callable(step) and not isinstance(step, Reply | Stream | Fail | Drop | Delay):
            step = step(body)
        return step

    def _count(self, body: dict[str, Any], completion_text: str) -> tuple[int, int]:
        prompt = json.dumps(body.get("messages", []), sort_keys=True)
        prompt_tokens = max(1, len(prompt) // 4)
        completion_tokens = max(1, len(completion_text) // 4)
        with self._lock:
            best = max((_common_prefix(prompt, p) for p in self._prompts), default=0)
            self._prompts.append(prompt)
            self.prefix_queries += prompt_tokens
            self.prefix_hits += best // 4
            self.prompt_tokens += prompt_tokens
            self.generation_tokens += completion_tokens
        return prompt_tokens, completion_tokens

    def metrics_text(self) -> str:
        """The ``/metrics`` body."""
        if isinstance(self.metrics, str):
            return self.metrics
        if callable(self.metrics):
            return self.metrics(self)
        label = f'{{model_name="{self.models[0]}"}}'
        lines = [
            ("vllm:num_requests_running", "gauge", self.in_flight),
            ("vllm:num_requests_waiting", "gauge", self.waiting),
            ("vllm:kv_cache_usage_perc", "gauge", min(1.0, 0.01 * self.in_flight)),
            ("vllm:prefix_cache_queries", "counter", self.prefix_queries),
            ("vllm:prefix_cache_hits", "counter", self.prefix_hits),
            ("vllm:prompt_tokens", "counter", self.prompt_tokens),
            ("vllm:generation_tokens", "counter", self.generation_tokens),
        ]
        out = []
        for name, kind, value in lines:
            suffix = "_total" if kind == "counter" else ""
            out += [f"# HELP {name} {name}", f"# TYPE {name} {kind}"]
            out.append(f"{name}{suffix}{label} {float(value)}")
        n = len(self.requests)
        ttft = self.latency or 0.001
        out += [
            "# HELP vllm:time_to_first_token_seconds Time to first token.",
            "# TYPE vllm:time_to_first_token_seconds histogram",
        ]
        for le in ("0.01", "0.1", "1.0", "+Inf"):
            count = n if le == "+Inf" or ttft <= float(le) else 0
            out.append(f'vllm:time_to_first_token_seconds_bucket{{le="{le}",{label[1:]} {count}.0')
        out.append(f"vllm:time_to_first_token_seconds_sum{label} {n * ttft}")
        out.append(f"vllm:time_to_first_token_seconds_count{label} {float(n)}")
        return "\n".join(out) + "\n"


def _common_prefix(a: str, b: str) -> int:
    # Binary search on slices: C-speed comparisons, so a long history costs microseconds.
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _frame(event: Mapping[str, Any] | str) -> bytes:
    """One SSE event as one HTTP chunk."""
    text = event if isinstance(event, str) else f"data: {json.dumps(event)}\n\n"
    data = text.encode()
    return b"%x\r\n%s\r\n" % (len(data), data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops connects under concurrency

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that went away (or a dropped step); nothing to report
        super().handle_error(request, client_address)


def _handler_for(llm: ScriptedLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        server_llm = llm

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as vLLM's server does
    server_llm: ScriptedLLM
    timeout = 60  # an idle keep-alive connection closes on its own eventually

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle's algorithm holds small SSE writes back by tens of ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server_llm._lock:
            self.server_llm._sockets.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server_llm._lock:
                self.server_llm._sockets.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    # routing

    def do_GET(self) -> None:
        llm = self.server_llm
        path = self.path.split("?")[0]
        if path == "/health":
            self._send(200 if llm.healthy else 503, b"", "text/plain")
        elif path == "/v1/models":
            data = [{"id": m, "object": "model", "owned_by": "mgx-scripted"} for m in llm.models]
            self._json(200, {"object": "list", "data": data})
        elif path == "/metrics":
            self._send(200, llm.metrics_text().encode(), "text/plain; version=0.0.4")
        elif f"GET {path}" in llm.routes:
            self._route(f"GET {path}", {})
        else:
            self._json(404, {"object": "error", "message": f"no route {path}", "code": 404})

    def do_POST(self) -> None:
        llm = self.server_llm
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._json(400, {"object": "error", "message": "request body is not JSON", "code": 400})
            return
        path = self.path.split("?")[0]
        if llm.api_key and self.headers.get("authorization") != f"Bearer {llm.api_key}":
            self._json(401, {"object": "error", "message": "invalid API key", "code": 401})
            return
        if path == "/v1/chat/completions":
            with llm._lock:
                llm.in_flight += 1
                llm.max_in_flight = max(llm.max_in_flight, llm.in_flight)
            try:
                self._chat(body)
            finally:
                with llm._lock:
                    llm.in_flight -= 1
        elif f"POST {path}" in llm.routes:
            self._route(f"POST {path}", body)
        else:
            self._json(404, {"object": "error", "message": f"no route {path}", "code": 404})

    def _route(self, key: str, body: dict[str, Any]) -> None:
        status, payload = self.server_llm.routes[key](body)
        if isinstance(payload, str):
            self._send(status, payload.encode(), "text/plain")
        else:
            self._json(status, payload)

    # chat

    def _chat(self, body: dict[str, Any]) -> None:
        llm = self.server_llm
        step = llm._next_step(body)
        if llm.latency:
            time.sleep(llm.latency)
        while isinstance(step, Delay):
            time.sleep(step.seconds)
            step = step.then
            while callable(step) and not isinstance(step, Reply | Stream | Fail | Drop | Delay):
                step = step(body)
        if step is None:
            self._json(500, {"object": "error", "message": "script exhausted", "code": 500})
        elif isinstance(step, Fail):
            self._fail(step)
        elif isinstance(step, Drop):
            self._drop(step)
        elif isinstance(step, Stream):
            self._stream(step.events, done=step.done, gap=step.gap_s)
        elif isinstance(step, Reply):
            if step.stream if step.stream is not None else body.get("stream"):
                self._stream(self._reply_events(step, body), done=True, gap=0.0)
            else:
                self._json(200, self._reply_body(step, body))
        else:
            raise TypeError(f"not a script step: {step!r}")

    def _usage(self, reply: Reply, body: dict[str, Any]) -> dict[str, int]:
        text = (reply.content or "") + (reply.reasoning or "")
        text += "".join(json.dumps(c) for c in reply.tool_calls)
        prompt, completion = self.server_llm._count(body, text)
        if reply.usage is not None:
            return dict(reply.usage)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _finish(self, reply: Reply) -> str:
        return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")

    def _reply_body(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.reasoning is not None:
            message["reasoning_content"] = reply.reasoning
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": f"chatcmpl-tool-{i}", **c} for i, c in enumerate(reply.tool_calls)
            ]
        return {
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.server_llm.models[0],
            "choices": [{"index": 0, "message": message, "finish_reason": self._finish(reply)}],
            "usage": self._usage(reply, body),
        }

    def _reply_events(self, reply: Reply, body: dict[str, Any]) -> list[dict[str, Any]]:
        n = max(1, reply.piece)
        events = [chunk(role="assistant", content="")]
        for i in range(0, len(reply.reasoning or ""), n):
            events.append(chunk(reasoning=(reply.reasoning or "")[i : i + n]))
        for i in range(0, len(reply.content or ""), n):
            events.append(chunk(content=(reply.content or "")[i : i + n]))
        for index, c in enumerate(reply.tool_calls):
            fn = c.get("function", {})
            first = tool_delta(index, id=c.get("id", f"chatcmpl-tool-{index}"), name=fn["name"])
            first["function"]["arguments"] = ""
            events.append(chunk(tool_calls=[first]))
            args = fn.get("arguments", "")
            for i in range(0, len(args), n):
                events.append(chunk(tool_calls=[tool_delta(index, arguments=args[i : i + n])]))
        events.append(chunk(finish_reason=self._finish(reply)))
        options = body.get("stream_options") or {}
        if options.get("include_usage"):
            events.append(chunk(choices=False, usage=self._usage(reply, body)))
        else:
            self._usage(reply, body)  # still count tokens for /metrics
        return events

    # wire

    def _send(
        self, status: int, payload: bytes, ctype: str, headers: Mapping[str, str] = _NO_HEADERS
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, status: int, body: Any, headers: Mapping[str, str] = _NO_HEADERS) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _fail(self, step: Fail) -> None:
        body = step.body
        if body is None:
            body = {
                "object": "error",
                "message": f"scripted failure {step.status}",
                "code": step.status,
            }
        if isinstance(body, str):
            self._send(step.status, body.encode(), "text/plain", step.headers)
        else:
            self._json(step.status, body, step.headers)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _event(self, event: Mapping[str, Any] | str) -> None:
        self.wfile.write(_frame(event))

    def _stream(self, events: Iterable[Mapping[str, Any] | str], *, done: bool, gap: float) -> None:
        self._start_stream()
        if not gap:  # one write: less server CPU, so benchmarks measure the client
            events = [*events, "data: [DONE]\n\n"] if done else list(events)
            self.wfile.write(b"".join(map(_frame, events)) + b"0\r\n\r\n")
            return
        for i, event in enumerate(events):
            if i:
                time.sleep(gap)
            self.wfile.write(_frame(event))
        if done:
            self.wfile.write(_frame("data: [DONE]\n\n"))
        self.wfile.write(b"0\r\n\r\n")

    def _drop(self, step: Drop) -> None:
        if step.events:
            self._start_stream()
            for event in step.events:
                self._event(event)
        # Abrupt close: the client sees an incomplete chunked body (or no response at all).
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
