"""``ToolHub``: the MCP servers of one tool set, started together, seen as one list of tools."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from marketplace.usage import UsageRecorder
from runtime.errors import ToolError
from runtime.tools._filters import ToolFilter
from runtime.tools._model import HubTool, ServerSpec, ServerStatus, ToolOutcome
from runtime.tools._naming import expose_names
from runtime.tools._pinned import pinned_tools
from runtime.tools._results import DEFAULT_MAX_CHARS
from runtime.tools._server import ServerConnection

log = logging.getLogger(__name__)

# When a server named in ``deferred`` starts: with the hub but not awaited by it, or at the
# first call of one of its tools.
StartWhen = Literal["background", "first_call"]


class ToolHub:
    """Start MCP servers in parallel and expose their tools as OpenAI function tools.

    Use as an async context manager::

        async with ToolHub(specs, call_timeout=60) as hub:
            tools = hub.openai_tools(ToolFilter(deny=("*delete*",)))
            outcome = await hub.call("time__get_current_time", {"timezone": "UTC"})

    ``require_all`` (default True) makes entering fail with ``ToolError`` if any server
    cannot start, after stopping those that did; with False the failed ones are reported
    by ``status()`` and their tools are simply absent. Leaving the context stops every
    server (the SDK closes stdin, then terminates the process group).

    ``deferred`` lets named servers start later than the hub: ``"background"`` starts them
    when the hub is entered without waiting for them, ``"first_call"`` when one of their
    tools is first called. Only a server whose tool list is known without starting it (its
    pinned descriptions, ``pinned_tools``) is deferred; any other starts with the hub. A
    call waits for its server's start; a server that fails to start answers every call with
    a tool error saying why (the pins are still compared at that start). Leaving the hub
    cancels a start still in flight and stops its process group. ``start_slots`` (shared by
    several hubs) bounds how many deferred starts run at once.
    """

    def __init__(
        self,
        servers: Sequence[ServerSpec],
        *,
        call_timeout: float = 60.0,
        startup_timeout: float = 60.0,
        max_restarts: int = 1,
        max_result_chars: int = DEFAULT_MAX_CHARS,
        log_dir: Path | None = None,
        require_all: bool = True,
        usage: UsageRecorder | None = None,
        deferred: Mapping[str, StartWhen] | None = None,
        start_slots: asyncio.Semaphore | None = None,
    ) -> None:
        names = [s.name for s in servers]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ToolError(f"duplicate server names in tool set: {', '.join(dupes)}")
        self.call_timeout = call_timeout
        self._require_all = require_all
        self._conns = {
            s.name: ServerConnection(
                s,
                log_dir=log_dir,
                startup_timeout=startup_timeout,
                max_restarts=max_restarts,
                max_result_chars=max_result_chars,
            )
            for s in servers
        }
        self._deferred: dict[str, StartWhen] = {}
        for name, when in (deferred or {}).items():
            conn = self._conns.get(name)
            known = pinned_tools(conn.spec) if conn is not None else None
            if conn is not None and known is not None:
                conn.tools = known
                conn.state = "deferred"
                self._deferred[name] = when
        self._starting: dict[str, asyncio.Task[None]] = {}  # deferred starts, once begun
        self._start_slots = start_slots
        self._tools: dict[str, HubTool] = {}
        self._entered = False
        self._closed = False
        # Local usage counts (marketplace.usage): buffered per call, written when the hub closes.
        self.usage = usage if usage is not None else UsageRecorder.from_env()

    async def __aenter__(self) -> ToolHub:
        if self._entered:
            raise ToolError("a ToolHub can be entered only once")
        self._entered = True
        for name, when in self._deferred.items():
            if when == "background":
                self._begin(name)
        now = [c for c in self._conns.values() if c.spec.name not in self._deferred]
        try:
            results = await asyncio.gather(*(c.start() for c in now), return_exceptions=True)
        except BaseException:  # cancelled while starting: nothing may be left running
            await self._stop_all()
            raise
        failures = [r for r in results if isinstance(r, BaseException)]
        for r in failures:
            if not isinstance(r, Exception):  # cancellation / KeyboardInterrupt: stop and re-raise
                await self._stop_all()
                raise r
        if failures and self._require_all:
            await self._stop_all()
            first = failures[0]
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise ToolError(f"{first}{more}") from first
        self._index_tools()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop_all()

    async def _stop_all(self) -> None:
        self._closed = True
        # Shielded so that a cancelled caller still waits for every process to go away.
        await asyncio.shield(self._stop_connections())
        self.usage.flush()

    async def _stop_connections(self) -> None:
        # A deferred start still in flight is cancelled first (its runner stops the process
        # group on the way out); only then can every connection be stopped for good.
        for task in self._starting.values():
            task.cancel()
        await asyncio.gather(*self._starting.values(), return_exceptions=True)
        await asyncio.gather(*(c.stop() for c in self._conns.values()))

    def _begin(self, name: str) -> asyncio.Task[None]:
        """The start task of the deferred server ``name`` (begun on the first request)."""
        task = self._starting.get(name)
        if task is None:
            assert not self._closed, "no start after the hub has closed"
            self._conns[name].state = "starting"
            task = asyncio.create_task(self._start_deferred(name), name=f"start:{name}")
            self._starting[name] = task
        return task

    async def _start_deferred(self, name: str) -> None:
        conn = self._conns[name]
        started = time.perf_counter()
        try:
            async with self._start_slots or contextlib.nullcontext():
                await conn.start()
        except ToolError as exc:  # kept on the connection (state failed): calls report it
            log.warning("%s", exc)
        else:
            log.debug("server %s started in %.2fs", name, time.perf_counter() - started)

    def _index_tools(self) -> None:
        pairs = [
            (conn.spec.name, tool.name)
            for conn in self._conns.values()
            if conn.state == "active" or conn.spec.name in self._deferred
            for tool in conn.tools
        ]
        names = expose_names(pairs)
        by_pair = {
            (conn.spec.name, tool.name): tool
            for conn in self._conns.values()
            for tool in conn.tools
        }
        tools: dict[str, HubTool] = {}
        for (server, tool_name), exposed in names.items():
            tool = by_pair[(server, tool_name)]
            tools[exposed] = HubTool(
                name=exposed,
                server=server,
                tool=tool_name,
                description=(tool.description or tool.title or tool_name).strip(),
                input_schema=_input_schema(tool.input_schema),
                output_schema=copy.deepcopy(tool.output_schema),
                annotations=_annotations(tool),
            )
        # Sorted by exposed name: every agent gets the same tool block, in the same order,
        # so the prompt prefix is byte-identical across agents (vLLM prefix cache).
        self._tools = dict(sorted(tools.items()))

    # --- what the model sees ---------------------------------------------------------------
    def tools(self, tool_filter: ToolFilter | None = None) -> list[HubTool]:
        """The tools passing ``tool_filter``, as copies (callers may not corrupt the cache)."""
        return [
            _copy_tool(t)
            for t in self._tools.values()
            if tool_filter is None or tool_filter.admits(t)
        ]

    def openai_tools(self, tool_filter: ToolFilter | None = None) -> list[dict[str, Any]]:
        """The OpenAI ``tools`` array for the tools passing ``tool_filter`` (sorted by name)."""
        return [t.openai() for t in self.tools(tool_filter)]

    def status(self) -> list[ServerStatus]:
        """Every server with its state (active, restarting, failed, stopped) and tool count."""
        return [
            ServerStatus(
                name=c.spec.name,
                state=c.state,
                transport=c.spec.transport,
                tools=len(c.tools),
                restarts=c.restarts,
                error=c.error,
            )
            for c in self._conns.values()
        ]

    @property
    def active(self) -> list[str]:
        """Names of the servers that are up."""
        return [c.spec.name for c in self._conns.values() if c.state == "active"]

    @property
    def failed(self) -> dict[str, str]:
        """Names of the servers that failed, with why."""
        return {
            c.spec.name: c.error or "failed" for c in self._conns.values() if c.state == "failed"
        }

    # --- calls -----------------------------------------------------------------------------
    async def call(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        allowed: Iterable[str] | None = None,
    ) -> ToolOutcome:
        """Call the tool exposed as ``name``. Tool faults come back as ``is_error`` outcomes.

        ``allowed`` (exposed names) guards against a model calling a tool that its agent's
        filter hid from it: such a call is answered with an error, not executed.
        """
        started = time.perf_counter()
        tool = self._tools.get(name)
        if tool is None or (allowed is not None and name not in set(allowed)):
            visible = sorted(self._tools if allowed is None else set(allowed) & set(self._tools))
            hint = ", ".join(visible[:20]) or "none"
            return ToolOutcome(
                name=name,
                text=f"Tool error: there is no tool named {name!r}. Available tools: {hint}",
                is_error=True,
            )
        if arguments is not None and not isinstance(arguments, dict):
            return ToolOutcome(
                name=name, text="Tool error: arguments must be a JSON object", is_error=True
            )
        if tool.server in self._deferred:
            if self._closed:
                return ToolOutcome(
                    name=name, text="Tool error: the tools of this run have stopped", is_error=True
                )
            # wait(), not await: a call given up (its agent cancelled) does not cancel the
            # start that other calls may be waiting for, and a start cancelled by the hub's
            # exit ends this wait without raising; the call below then reports the server
            # as not running.
            await asyncio.wait([self._begin(tool.server)])
        text, is_error, structured = await self._conns[tool.server].call(
            tool.tool, dict(arguments or {}), timeout=timeout or self.call_timeout
        )
        duration = time.perf_counter() - started
        self.usage.record(tool.server, tool.tool, error=is_error, seconds=duration)
        return ToolOutcome(
            name=name,
            text=text,
            is_error=is_error,
            structured=structured,
            duration_s=duration,
        )


def _annotations(tool: Any) -> dict[str, Any] | None:
    raw = getattr(tool, "annotations", None)
    if raw is None:
        return None
    dump = getattr(raw, "model_dump", None)
    data = dump(exclude_none=True, by_alias=True) if callable(dump) else raw
    return dict(data) if isinstance(data, dict) else None


def _input_schema(schema: Any) -> dict[str, Any]:
    # OpenAI function parameters must be an object schema; some servers send {} or omit it.
    out = copy.deepcopy(schema) if isinstance(schema, dict) else {}
    if out.get("type") != "object":
        out = {"type": "object", "properties": {}} if not out else {"type": "object", **out}
    out.setdefault("properties", {})
    return out


def _copy_tool(tool: HubTool) -> HubTool:
    from dataclasses import replace

    return replace(
        tool,
        input_schema=copy.deepcopy(tool.input_schema),
        output_schema=copy.deepcopy(tool.output_schema),
    )
