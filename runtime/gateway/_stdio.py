"""The gateway's MCP server on stdin/stdout: plain JSON-RPC lines, no mcp SDK on the path.

The gateway answers only a handful of methods, and each answer is either fixed
(``initialize``, ``ping``), already at hand (``tools/list`` from the recorded lists) or the
backend's own result passed through (``tools/call``). Validating every message into the
SDK's pydantic models and dumping them again (once as a server, once more as the backend's
client) was most of the gateway's cost per call, and importing the SDK most of its start-up;
so on stdio the gateway speaks the protocol itself:

- ``initialize``: the client's protocol version when it is one negotiated by handshake,
  else the newest such; ``server/discover`` (the 2026 era's probe) is answered "method not
  found", on which clients fall back to ``initialize``;
- ``tools/list`` (one page), ``tools/call`` (each in its own task: calls run concurrently
  and are answered as they finish), ``ping``;
- ``notifications/cancelled`` cancels the call in flight (which tells the backend), and no
  answer is sent for it; progress notifications of a call that asked for them (a
  ``progressToken`` in ``_meta``) are relayed from the backend;
- anything else: "method not found"; a line that is not JSON: "parse error".

While serving, fd 0 reads the null device and fd 1 points at stderr, so nothing a child or a
stray write puts there can corrupt the wire. Pipes, sockets and terminals are read and
written through asyncio; a regular file (``mgx tool serve < requests.jsonl``) is read on a
thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runtime.gateway import _jsonrpc as rpc

if TYPE_CHECKING:
    from runtime.gateway._gateway import Gateway

log = logging.getLogger(__name__)

__all__ = ["serve_stdio"]

_LINE_LIMIT = 64 * 1024 * 1024  # one JSON-RPC message per line; arguments can be large
_INTERNAL_ERROR = -32603


async def serve_stdio(gateway: Gateway, *, on_ready: Callable[[], None]) -> None:
    """Answer MCP on stdin/stdout until stdin closes (calls in flight are answered first)."""
    channel = await _Channel.open(os.dup(0), os.dup(1))
    saved = _divert()
    try:
        on_ready()
        await _Session(gateway, channel).run()
    finally:
        _restore(saved)
        await channel.aclose()


class _BadParams(Exception):
    """A request whose params cannot be used (answered with -32602)."""


class _Session:
    """One client on the wire: routes each line, keeps the calls in flight by request id."""

    def __init__(self, gateway: Gateway, channel: _Channel) -> None:
        self._gateway = gateway
        self._channel = channel
        self._inflight: dict[Any, asyncio.Task[None]] = {}
        self._client = "unknown"

    async def run(self) -> None:
        try:
            while line := await self._channel.readline():
                if line.strip():
                    self._handle(line)
            # stdin closed: answer what was asked before it did (each call is time-bounded)
            while self._inflight:
                await asyncio.gather(*self._inflight.values(), return_exceptions=True)
        finally:
            for task in self._inflight.values():
                task.cancel()
            if self._inflight:
                await asyncio.gather(*self._inflight.values(), return_exceptions=True)

    def send(self, message: dict[str, Any]) -> None:
        self._channel.write(rpc.encode(message))

    # --- routing ---------------------------------------------------------------------------
    def _handle(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            self.send(rpc.error(None, rpc.PARSE_ERROR, "Parse error"))
            return
        if not isinstance(message, dict):  # batches left JSON-RPC-over-MCP in 2025-06-18
            self.send(rpc.error(None, rpc.INVALID_REQUEST, "Invalid request"))
            return
        method = message.get("method")
        ident = message.get("id")
        if not isinstance(method, str):
            if "result" not in message and "error" not in message:
                self.send(rpc.error(ident, rpc.INVALID_REQUEST, "Invalid request"))
            return  # an answer: the gateway asks the client nothing, so there is none to await
        params = message.get("params")
        params = {} if params is None else params
        if "id" not in message:
            self._notification(method, params)
            return
        if not isinstance(ident, (str, int)) or isinstance(ident, bool):
            self.send(rpc.error(None, rpc.INVALID_REQUEST, "Invalid request id"))
            return
        if not isinstance(params, dict):
            self.send(rpc.error(ident, rpc.INVALID_PARAMS, "params must be an object"))
            return
        if method == "tools/call":
            self._spawn(ident, self._call(params))
        elif method == "tools/list":
            self._spawn(ident, self._list())
        elif method == "ping":
            self.send(rpc.result(ident, {}))
        elif method == "initialize":
            self.send(rpc.result(ident, self._initialize(params)))
        else:
            self.send(rpc.error(ident, rpc.METHOD_NOT_FOUND, "Method not found"))

    def _notification(self, method: str, params: Any) -> None:
        if method == "notifications/cancelled" and isinstance(params, dict):
            task = self._inflight.get(params.get("requestId"))
            if task is not None:
                task.cancel()
        # notifications/initialized, roots/list_changed, ...: nothing for the gateway to do

    def _spawn(self, ident: Any, work: Any) -> None:
        if ident in self._inflight:
            work.close()
            self.send(rpc.error(ident, rpc.INVALID_REQUEST, f"request id {ident!r} is in use"))
            return
        task = asyncio.create_task(self._answer(ident, work))
        self._inflight[ident] = task
        task.add_done_callback(lambda _t: self._inflight.pop(ident, None))

    async def _answer(self, ident: Any, work: Any) -> None:
        try:
            value = await work
        except asyncio.CancelledError:
            return  # cancelled by the client (no answer is due) or the gateway is stopping
        except _BadParams as exc:
            self.send(rpc.error(ident, rpc.INVALID_PARAMS, str(exc)))
        except Exception as exc:  # a gateway bug must not end the session
            log.exception("request %r failed", ident)
            self.send(rpc.error(ident, _INTERNAL_ERROR, f"internal error: {type(exc).__name__}"))
        else:
            self.send(rpc.result(ident, value))

    # --- methods ---------------------------------------------------------------------------
    def _initialize(self, params: dict[str, Any]) -> dict[str, Any]:
        from runtime.gateway._gateway import INSTRUCTIONS
        from runtime.gateway._version import mgx_version

        asked = params.get("protocolVersion")
        version = asked if asked in rpc.HANDSHAKE_VERSIONS else rpc.LATEST_HANDSHAKE_VERSION
        info = params.get("clientInfo")
        if isinstance(info, dict) and info.get("name"):
            self._client = f"{info.get('name')}/{info.get('version', '?')}"
        return {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "mgx-gateway", "version": mgx_version()},
            "instructions": INSTRUCTIONS,
        }

    async def _list(self) -> dict[str, Any]:
        return {"tools": await self._gateway.list_tools()}

    async def _call(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        if not isinstance(name, str) or not name:
            raise _BadParams("tools/call needs the tool's name")
        arguments = params.get("arguments")
        arguments = {} if arguments is None else arguments
        if not isinstance(arguments, dict):
            raise _BadParams("tools/call arguments must be an object")
        meta = params.get("_meta")
        meta = meta if isinstance(meta, dict) and meta else None
        return await self._gateway.call_tool(
            name, arguments, client=self._client, meta=meta, notify=self.send if meta else None
        )


class _Channel:
    """stdin/stdout (private duplicates): asyncio pipes where possible, else plain files."""

    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None
        self._rfile: Any = None
        self._writer: asyncio.WriteTransport | None = None
        self._wfd: int | None = None
        self._closing: list[Any] = []

    @classmethod
    async def open(cls, fd_in: int, fd_out: int) -> _Channel:
        loop = asyncio.get_running_loop()
        channel = cls()
        rfile = os.fdopen(fd_in, "rb", buffering=0)
        reader = asyncio.StreamReader(limit=_LINE_LIMIT, loop=loop)
        try:
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader, loop=loop), rfile
            )
            channel._reader = reader
            channel._closing.append(transport)
        except (ValueError, OSError):  # a regular file: read it on a thread
            channel._rfile = os.fdopen(os.dup(fd_in), "rb")
            rfile.close()
        wfile = os.fdopen(fd_out, "wb", buffering=0)
        try:
            wtransport, _ = await loop.connect_write_pipe(asyncio.Protocol, wfile)
            channel._writer = wtransport
            channel._closing.append(wtransport)
        except (ValueError, OSError):  # a regular file: plain blocking writes are fine
            channel._wfd = os.dup(fd_out)
            wfile.close()
        return channel

    async def readline(self) -> bytes:
        if self._reader is not None:
            try:
                return await self._reader.readline()
            except ValueError:  # a line over the limit: nothing after it can be trusted
                log.error("stdin: a message over %d bytes; closing", _LINE_LIMIT)
                return b""
        return bytes(await asyncio.to_thread(self._rfile.readline, _LINE_LIMIT))

    def write(self, data: bytes) -> None:
        # Writes are not awaited: the pipe transport buffers what the client has not read
        # yet, and a client that stops reading is one that is going away.
        if self._writer is not None:
            if not self._writer.is_closing():
                self._writer.write(data)
            return
        if self._wfd is not None:
            view = memoryview(data)
            while view:
                view = view[os.write(self._wfd, view) :]

    async def aclose(self) -> None:
        if self._writer is not None and not self._writer.is_closing():
            # let what is buffered reach the client before the pipe closes
            for _ in range(100):
                if not self._writer.get_write_buffer_size():
                    break
                await asyncio.sleep(0.01)
        for transport in self._closing:
            transport.close()
        if self._rfile is not None:
            self._rfile.close()
        if self._wfd is not None:
            os.close(self._wfd)


def _divert() -> tuple[int, int]:
    """Point fd 0 at the null device and fd 1 at stderr; returns the originals."""
    saved = (os.dup(0), os.dup(1))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return saved


def _restore(saved: tuple[int, int]) -> None:
    for fd, original in zip((0, 1), saved, strict=True):
        with contextlib.suppress(OSError):
            os.dup2(original, fd)
        os.close(original)
