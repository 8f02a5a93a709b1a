"""One locked stdio server behind the gateway, spoken to in plain JSON-RPC lines.

The gateway forwards ``tools/call`` as it came: the tool name and the request id are
rewritten, the result is passed back as the server sent it. Going through the mcp SDK's
client here would validate and rebuild every result as pydantic models, only for the gateway
to dump them again; that cost more than everything else in a call (see docs/gateway.md).

What the runtime's ``ServerConnection`` does for agents, this does for the gateway, with the
same rules: the process runs leashed in a session of its own (it dies with mgx), with only
the base environment plus its own bindings; stderr goes to its log file; the start is the
``initialize`` handshake, then ``tools/list`` compared with the lock's pinned descriptions,
all within the startup timeout; a crashed server, or one that stops answering after a call
timed out, is restarted once; stopping closes stdin, then signals the process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from runtime.errors import ToolError
from runtime.gateway import _jsonrpc as rpc
from runtime.tools import ServerSpec
from runtime.tools._model import ServerState
from runtime.tools._restarts import RestartRule, describe_error
from runtime.tools._server_log import ServerLog

__all__ = ["StdioBackend"]

# The variables a stdio server inherits besides its bindings: the same set as the mcp SDK's
# stdio client gives, plus marketplace._process.inherited_env() as the runtime adds it (so a
# server sees the same environment under the gateway as under an agent's tool hub); a tool
# must not see the user's unrelated secrets.
_BASE_ENV = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")
_LINE_LIMIT = 64 * 1024 * 1024  # one JSON-RPC message per line; tool results can be large
_EXIT_GRACE = 2.0  # after stdin closes, before SIGTERM (the SDK's figures)
_TERM_GRACE = 2.0  # after SIGTERM, before SIGKILL
_MAX_PAGES = 100  # a server paginating forever cannot hang a start

Notify = Callable[[dict[str, Any]], None]


class _Closed(Exception):
    """The server's stdout closed (it exited or crashed)."""


class _RpcError(Exception):
    def __init__(self, error: Any) -> None:
        message = error.get("message") if isinstance(error, dict) else None
        super().__init__(str(message or error))


class _Process:
    """One running instance: the child, its reader task, the calls waiting on it."""

    def __init__(self, proc: asyncio.subprocess.Process, errlog: TextIO) -> None:
        self.proc = proc
        self.errlog = errlog
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.progress: dict[Any, Notify] = {}  # progress token -> where to forward
        self.ids = itertools.count(1)
        self.closed: str | None = None  # why the server can no longer answer
        self.reader: asyncio.Task[None] | None = None

    def send(self, message: dict[str, Any]) -> None:
        stdin = self.proc.stdin
        if self.closed is not None or stdin is None or stdin.is_closing():
            raise _Closed(self.closed or "stdin closed")
        stdin.write(rpc.encode(message))

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a request and wait for its answer (``result``), raising on an error answer."""
        ident = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[ident] = future
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
        if params is not None:
            message["params"] = params
        try:
            self.send(message)
            answer = await future
        finally:
            self.pending.pop(ident, None)
        if "error" in answer:
            raise _RpcError(answer["error"])
        result = answer.get("result")
        if not isinstance(result, dict):
            raise _RpcError({"message": f"{method}: the server's result is not an object"})
        return result

    async def read(self) -> None:
        """Route every line the server writes until its stdout closes."""
        stdout = self.proc.stdout
        assert stdout is not None
        why = "connection closed"
        try:
            while line := await stdout.readline():
                self._route(line)
        except (ValueError, asyncio.LimitOverrunError):  # a line over the limit
            why = f"the server wrote a line over {_LINE_LIMIT} bytes"
        except (OSError, asyncio.IncompleteReadError) as exc:
            why = f"connection closed ({exc})"
        finally:
            self.fail_all(why)

    def fail_all(self, why: str) -> None:
        if self.closed is None:
            self.closed = why
        for future in self.pending.values():
            if not future.done():
                future.set_exception(_Closed(why))

    def _route(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return  # not JSON-RPC (a server printing to stdout by mistake): not ours to answer
        if not isinstance(message, dict):
            return
        method = message.get("method")
        if method is None:  # an answer to one of ours
            future = self.pending.get(message.get("id"))  # type: ignore[arg-type]
            if future is not None and not future.done():
                future.set_result(message)
            return
        if "id" in message:  # the server asks the client something: the gateway offers nothing
            with contextlib.suppress(_Closed):
                if method == "ping":
                    self.send({"jsonrpc": "2.0", "id": message["id"], "result": {}})
                else:
                    self.send(rpc.error(message["id"], rpc.METHOD_NOT_FOUND, "Method not found"))
            return
        if method == "notifications/progress":
            params = message.get("params")
            token = params.get("progressToken") if isinstance(params, dict) else None
            forward = self.progress.get(token) if isinstance(token, (str, int)) else None
            if forward is not None:
                forward(message)


class StdioBackend(RestartRule):
    """A locked stdio server: ``start``, ``call`` (raw results), restart once, ``stop``."""

    def __init__(
        self,
        spec: ServerSpec,
        *,
        log_dir: Path | None,
        startup_timeout: float,
        max_restarts: int = 1,
        client_version: str = "0",
    ) -> None:
        self.spec = spec
        self.state: ServerState = "starting"
        self.error: str | None = None
        self.restarts = 0
        self.tools: list[dict[str, Any]] = []  # as first listed
        self._stderr = ServerLog(log_dir, spec.name)
        self._startup_timeout = startup_timeout
        self._max_restarts = max_restarts
        self._client_version = client_version
        self._current: _Process | None = None
        self._generation = 0
        self._restart_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Start (or restart) the server and list its tools; raises ``ToolError`` on failure."""
        self.state = "starting" if self._generation == 0 else "restarting"
        self._generation += 1
        try:
            process = await self._spawn()
        except OSError as exc:
            self.state = "failed"
            self.error = f"server {self.spec.name!r} failed to start: {describe_error(exc)}"
            raise ToolError(self.error) from exc
        try:
            async with asyncio.timeout(self._startup_timeout):
                tools = await self._handshake(process)
            self._check_pins(tools)
        except BaseException as exc:
            await self._terminate(process)
            self.state = "failed"
            if isinstance(exc, ToolError):
                self.error = str(exc)
                raise
            if not isinstance(exc, Exception):
                raise
            if isinstance(exc, TimeoutError):
                self.error = (
                    f"server {self.spec.name!r} did not finish starting within "
                    f"{self._startup_timeout:g}s"
                )
            else:
                self.error = f"server {self.spec.name!r} failed to start: {describe_error(exc)}"
            raise ToolError(self.error + self._stderr.hint()) from exc
        if self._generation == 1:
            self.tools = tools
        self._current = process
        self.state = "active"
        self.error = None

    async def _spawn(self) -> _Process:
        from marketplace._process import inherited_env, leash

        if not self.spec.command:
            raise ToolError(f"server {self.spec.name!r} has no command to run")
        base = {k: v for k in _BASE_ENV if (v := os.environ.get(k)) and not v.startswith("()")}
        base |= inherited_env()
        env = {**base, **self.spec.env}
        # Leashed: the server dies with mgx even if mgx is killed; its group is ours to stop.
        argv = leash(self.spec.command, env={**os.environ, **self.spec.env}, cwd=self.spec.cwd)
        errlog = self._stderr.open()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=errlog,
                env=env,
                cwd=self.spec.cwd,
                start_new_session=True,
                limit=_LINE_LIMIT,
            )
        except BaseException:
            errlog.close()
            raise
        process = _Process(proc, errlog)
        process.reader = asyncio.create_task(process.read(), name=f"mcp-read:{self.spec.name}")
        return process

    async def _handshake(self, process: _Process) -> list[dict[str, Any]]:
        await process.request(
            "initialize",
            {
                "protocolVersion": rpc.LATEST_HANDSHAKE_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "mgx", "version": self._client_version},
            },
        )
        process.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        tools: list[dict[str, Any]] = []
        cursor: Any = None
        for _ in range(_MAX_PAGES):
            page = await process.request("tools/list", {"cursor": cursor} if cursor else {})
            listed = page.get("tools")
            if not isinstance(listed, list):
                raise ToolError(f"server {self.spec.name!r} answered tools/list without tools")
            tools += [t for t in listed if isinstance(t, dict) and isinstance(t.get("name"), str)]
            cursor = page.get("nextCursor")
            if not cursor:
                break
        return tools

    def _check_pins(self, tools: list[dict[str, Any]]) -> None:
        """Refuse a server whose tools differ from the lock's pins (a "rug pull")."""
        pins = self.spec.tool_pins
        if pins is None:
            return
        from marketplace.tool_pins import ToolPinsChanged, compare_pins

        try:
            compare_pins(self.spec.pins_store, self.spec.lock_name or self.spec.name, pins, tools)
        except ToolPinsChanged as exc:
            raise ToolError(f"server {self.spec.name!r} refused: {exc}") from None

    async def stop(self) -> None:
        """Stop the server (waits for a pending restart first); never raises."""
        if self._restart_task is not None:
            with contextlib.suppress(BaseException):
                await self._restart_task
        process, self._current = self._current, None
        if process is not None:
            await asyncio.shield(self._terminate(process))
        if self.state != "failed":
            self.state = "stopped"

    async def _terminate(self, process: _Process) -> None:
        """Close stdin, give the server a moment to exit, then signal its process group."""
        proc = process.proc
        if proc.stdin is not None:
            proc.stdin.close()
        if not await _exited(proc, _EXIT_GRACE):
            for sig, grace in ((signal.SIGTERM, _TERM_GRACE), (signal.SIGKILL, _TERM_GRACE)):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, sig)  # the leader's pid is the group's (new session)
                if await _exited(proc, grace):
                    break
        # The leash kills the rest of the group when its leader goes; make sure of it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if process.reader is not None:
            process.reader.cancel()
            with contextlib.suppress(BaseException):
                await process.reader
        process.fail_all("stopped")
        process.errlog.close()

    # --- calls -----------------------------------------------------------------------------
    async def call(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        timeout: float,
        meta: dict[str, Any] | None = None,
        notify: Notify | None = None,
    ) -> dict[str, Any]:
        """Call ``tool``; returns the server's ``CallToolResult`` as sent, or an error result.

        Never raises for tool faults. A crash or a hang schedules a restart; the caller gets
        an error result at once. Cancelling the caller tells the server (notifications/cancelled).
        """
        if self._restart_task is not None and not self._restart_task.done():
            with contextlib.suppress(BaseException):
                await self._restart_task
        process, generation = self._current, self._generation
        if self.state == "failed" or process is None:
            why = self.error or "stopped"
            return _error_result(f"Tool error: server {self.spec.name!r} is not running ({why})")
        params: dict[str, Any] = {"name": tool, "arguments": arguments}
        token = None
        if meta:
            params["_meta"] = meta
            token = meta.get("progressToken")
            if notify is not None and isinstance(token, (str, int)):
                process.progress[token] = notify
        ident = next(process.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        process.pending[ident] = future
        try:
            process.send({"jsonrpc": "2.0", "id": ident, "method": "tools/call", "params": params})
            async with asyncio.timeout(timeout):
                answer = await future
        except _Closed as exc:
            self._schedule_restart(generation, "crashed")
            return _error_result(
                f"Tool error: server {self.spec.name!r} crashed during the call ({exc})"
                f"{self._restart_note()}"
            )
        except TimeoutError:
            self._cancel(process, ident, "timed out")
            # Answer at the timeout: whether the server still answers is checked in the
            # background, and the next call waits for that check (and a restart, if it hung).
            self._schedule_probe(process, generation, timeout)
            return _error_result(
                f"Tool error: {tool!r} did not finish within {timeout:g}s (the call was "
                "cancelled; the server is restarted if it stopped responding, you may retry)"
            )
        except asyncio.CancelledError:
            self._cancel(process, ident, "cancelled by the client")
            raise
        finally:
            process.pending.pop(ident, None)
            if token is not None:
                process.progress.pop(token, None)
        if "error" in answer:
            error = answer["error"]
            message = error.get("message") if isinstance(error, dict) else None
            return _error_result(f"Tool error: {message or error}")
        result = answer.get("result")
        if not isinstance(result, dict):
            return _error_result(f"Tool error: server {self.spec.name!r} sent no result object")
        return result

    @staticmethod
    def _cancel(process: _Process, ident: int, reason: str) -> None:
        with contextlib.suppress(_Closed, OSError):
            process.send(
                {
                    "jsonrpc": "2.0",
                    "method": "notifications/cancelled",
                    "params": {"requestId": ident, "reason": reason},
                }
            )

    async def _probe(self, handle: Any) -> None:
        await handle.request("ping")

    async def _stop_instance(self) -> None:
        process, self._current = self._current, None
        if process is not None:
            await self._terminate(process)


def _error_result(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


async def _exited(proc: asyncio.subprocess.Process, timeout: float) -> bool:
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), timeout)
        return True
    except TimeoutError:
        return False
