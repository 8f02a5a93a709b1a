"""One MCP server connection: start, list tools once, call with a timeout, restart once.

The mcp SDK's ``Client`` holds anyio task groups, which must be entered and exited by the
same task. So each connection is owned by one long-lived *runner* task that enters the
client, lists the tools, signals readiness and waits for a stop request; calls come from
any task through the client's streams. A restart stops the runner and starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

from runtime.errors import ToolError
from runtime.tools._model import ServerSpec, ServerState
from runtime.tools._restarts import RestartRule, describe_error
from runtime.tools._results import result_text, truncate
from runtime.tools._server_log import ServerLog

log = logging.getLogger(__name__)

_STOP_TIMEOUT = 15.0  # the SDK's own shutdown is bounded by ~6.5 s (grace + TERM + KILL)


class ServerConnection(RestartRule):
    """A managed connection to one MCP server (not public: use ``ToolHub``)."""

    def __init__(
        self,
        spec: ServerSpec,
        *,
        log_dir: Path | None,
        startup_timeout: float,
        max_restarts: int,
        max_result_chars: int,
    ) -> None:
        self.spec = spec
        self.state: ServerState = "starting"
        self.error: str | None = None
        self.restarts = 0
        self.tools: list[Any] = []  # mcp_types.Tool, as first listed
        self._stderr = ServerLog(log_dir, spec.name)
        self._startup_timeout = startup_timeout
        self._max_restarts = max_restarts
        self._max_result_chars = max_result_chars
        self._client: Any = None
        self._runner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._generation = 0
        self._ready: asyncio.Future[None] | None = None  # the current runner's start signal
        self._restart_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Start (or restart) the server and list its tools; raises ``ToolError`` on failure."""
        self.state = "starting" if self._generation == 0 else "restarting"
        self._generation += 1
        self._stop = asyncio.Event()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ready = ready
        self._runner = asyncio.create_task(
            self._run(ready, self._stop), name=f"mcp:{self.spec.name}"
        )
        try:
            # Shielded: a cancelled caller must not cancel the future the runner completes;
            # the runner itself is cancelled by _join_runner below.
            await asyncio.shield(ready)
        except BaseException as exc:
            await self._join_runner()
            if ready.done() and not ready.cancelled():
                ready.exception()  # the runner's report of a start given up: seen, not lost
            self.state = "failed"
            inner = _single(exc)  # the SDK's task groups wrap our own refusal (pins) in a group
            if isinstance(inner, ToolError):
                self.error = str(inner)
                raise inner from None
            if isinstance(exc, asyncio.CancelledError):
                self.state = "stopped"  # given up (the run ended first), not broken
                raise
            # The server's last stderr line belongs to the error: a deferred start reports
            # it to the model at the first call, long after this raise.
            self.error = f"server {self.spec.name!r} failed to start: {describe_error(exc)}"
            self.error += self._stderr.hint()
            raise ToolError(self.error) from exc
        self.state = "active"
        self.error = None

    async def stop(self) -> None:
        """Stop the server (waits for a pending restart first); never raises."""
        if self._restart_task is not None:
            with contextlib.suppress(BaseException):
                await self._restart_task
        await self._join_runner()
        if self.state != "failed":
            self.state = "stopped"

    async def _join_runner(self) -> None:
        runner, self._runner = self._runner, None
        self._client = None
        if runner is None:
            return
        self._stop.set()
        if self._ready is not None and not self._ready.done():
            # Still starting: the runner looks at the stop request only once it is ready, so
            # a start in flight (the run ended or failed first) is cancelled instead. The
            # SDK's stdio transport then stops the process group on its way out.
            runner.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(runner), _STOP_TIMEOUT)
        except TimeoutError:
            runner.cancel()
            with contextlib.suppress(BaseException):
                await runner
        except BaseException:  # the runner's own failure was reported through `ready`
            pass

    async def _run(self, ready: asyncio.Future[None], stop: asyncio.Event) -> None:
        try:
            async with self._open() as client:
                async with asyncio.timeout(self._startup_timeout):
                    tools = await _list_all_tools(client)
                self._check_pins(tools)
                if self._generation == 1:
                    self.tools = tools
                self._client = client
                ready.set_result(None)
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
                    ready.set_exception(
                        ToolError(
                            f"server {self.spec.name!r} did not finish starting within "
                            f"{self._startup_timeout:g}s" + self._stderr.hint()
                        )
                    )
                else:
                    ready.set_exception(exc if isinstance(exc, Exception) else ToolError(str(exc)))
            if isinstance(exc, Exception):
                log.debug("server %s runner ended: %s", self.spec.name, describe_error(exc))
                return
            raise

    def _check_pins(self, tools: list[Any]) -> None:
        """Refuse a server whose tools differ from the lock's pins (a "rug pull")."""
        pins = self.spec.tool_pins
        if pins is None:
            return
        from marketplace.tool_pins import ToolPinsChanged, compare_pins

        try:
            compare_pins(self.spec.pins_store, self.spec.lock_name or self.spec.name, pins, tools)
        except ToolPinsChanged as exc:
            raise ToolError(f"server {self.spec.name!r} refused: {exc}") from None

    @contextlib.asynccontextmanager
    async def _open(self) -> AsyncIterator[Any]:
        from mcp import Client  # imported lazily: `mgx --help` must not import mcp
        from mcp.types import Implementation

        info = Implementation(name="mgx", version=_version())
        async with contextlib.AsyncExitStack() as stack:
            if self.spec.transport == "stdio":
                from mcp.client.stdio import StdioServerParameters

                from marketplace._process import inherited_env, leash

                if not self.spec.command:
                    raise ToolError(f"server {self.spec.name!r} has no command to run")
                # Leashed: the server dies with mgx even if mgx is killed (the SDK runs it in
                # a new session and stops that group on the way out).
                argv = leash(
                    self.spec.command, env={**os.environ, **self.spec.env}, cwd=self.spec.cwd
                )
                params = StdioServerParameters(
                    command=argv[0],
                    args=argv[1:],
                    env=inherited_env() | dict(self.spec.env),
                    cwd=self.spec.cwd,
                )
                target: Any = _stdio_transport(params, stack.enter_context(self._stderr.open()))
            else:
                if self.spec.command:  # a package serving HTTP: its process is ours to run
                    await self._start_http_process(stack)
                target = await stack.enter_async_context(_remote_transport(self.spec))
            client = Client(target, client_info=info)
            async with asyncio.timeout(self._startup_timeout):
                await stack.enter_async_context(client)
            yield client

    async def _start_http_process(self, stack: contextlib.AsyncExitStack) -> None:
        from marketplace._process import ServerExited, listening_process

        if not self.spec.url:
            name, transport = self.spec.name, self.spec.transport
            raise ToolError(f"server {name!r} serves {transport} but has no URL")
        errlog = stack.enter_context(self._stderr.open())
        process = listening_process(
            self.spec.command,
            url=self.spec.url,
            env=self.spec.env,
            cwd=self.spec.cwd,
            errlog=errlog,
            timeout=self._startup_timeout,
        )
        try:
            await stack.enter_async_context(process)
        except ServerExited as exc:
            raise ToolError(f"server {self.spec.name!r} {exc}" + self._stderr.hint()) from None

    # --- calls -----------------------------------------------------------------------------
    async def call(
        self, tool: str, arguments: dict[str, Any], *, timeout: float
    ) -> tuple[str, bool, Any]:
        """Call ``tool``; returns ``(text, is_error, structured)``. Never raises for tool faults.

        A crash (connection closed) or a hang (the call times out and the server does not
        answer a probe either) schedules a restart; the caller gets a tool error right away.
        """
        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        if self._restart_task is not None and not self._restart_task.done():
            with contextlib.suppress(BaseException):
                await self._restart_task
        client, generation = self._client, self._generation
        if self.state == "failed" or client is None:
            return (
                f"Tool error: server {self.spec.name!r} is not running ({self.error or 'stopped'})",
                True,
                None,
            )
        try:
            result = await client.call_tool(tool, arguments, read_timeout_seconds=timeout)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                # Answer at the timeout, not after a probe as well (a 3 s timeout must not
                # take 6 s): whether the server still answers is checked in the background,
                # and the next call waits for that check (and a restart, if it hung).
                self._schedule_probe(client, generation, timeout)
                return (
                    f"Tool error: {tool!r} did not finish within {timeout:g}s (the call was "
                    "cancelled; the server is restarted if it stopped responding, you may retry)",
                    True,
                    None,
                )
            if exc.code == CONNECTION_CLOSED:
                self._schedule_restart(generation, "crashed")
                return (
                    f"Tool error: server {self.spec.name!r} crashed during the call "
                    f"({exc.error.message}){self._restart_note()}",
                    True,
                    None,
                )
            return (
                f"Tool error: {truncate(exc.error.message, self._max_result_chars)}",
                True,
                None,
            )
        except Exception as exc:  # transport faults (e.g. a remote dropping) are tool errors too
            self._schedule_restart(generation, describe_error(exc))
            return (
                f"Tool error: server {self.spec.name!r} failed: {describe_error(exc)}"
                f"{self._restart_note()}",
                True,
                None,
            )
        text, structured = result_text(result, max_chars=self._max_result_chars)
        return text, bool(result.is_error), structured

    async def _probe(self, handle: Any) -> None:
        await handle.session.list_tools()

    async def _stop_instance(self) -> None:
        await self._join_runner()


async def _list_all_tools(client: Any) -> list[Any]:
    tools: list[Any] = []
    cursor: str | None = None
    for _ in range(100):  # a server paginating forever cannot hang startup
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _stdio_transport(params: Any, errlog: TextIO) -> Any:
    from mcp.client.stdio import stdio_client

    return stdio_client(params, errlog=errlog)


@contextlib.asynccontextmanager
async def _remote_transport(spec: ServerSpec) -> AsyncIterator[Any]:
    if not spec.url:
        raise ToolError(f"remote server {spec.name!r} has no URL")
    import httpx2  # the HTTP library the mcp SDK's transports are written against

    if spec.transport == "sse":
        from mcp.client.sse import sse_client

        yield sse_client(spec.url, headers=dict(spec.headers))
        return
    from mcp.client.streamable_http import streamable_http_client

    timeout = httpx2.Timeout(30.0, read=300.0)
    async with httpx2.AsyncClient(headers=dict(spec.headers), timeout=timeout) as http:
        yield streamable_http_client(spec.url, http_client=http)


def _single(exc: BaseException) -> BaseException:
    """The one exception inside (nested) single-member exception groups, else ``exc``."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("mgx")
    except Exception:
        return "0"
