"""The locked servers behind the gateway: started lazily, one backend each.

A server starts on the first call to one of its tools, or when ``tools/list`` is asked and
neither the lock's pinned descriptions (kept in the pins store) nor a list recorded at an
earlier start (see ``_listing``) are on this machine. Every start goes
through ``preflight`` first. Each server is started and called on its own (one slow or
broken server never holds up another) with the runtime's rules: a crashed or hung server is
restarted once, calls are bounded by a timeout, stderr goes to a log file.

A stdio server (nearly every locked tool) is a ``StdioBackend``: plain JSON-RPC lines, the
result forwarded as the server sent it. A server reached over HTTP goes through the
runtime's ``ToolHub`` (the mcp SDK's HTTP client transports), its outcome turned back into
a ``CallToolResult``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.errors import GatewayError
from runtime.gateway._version import mgx_version
from runtime.tools import HubTool, ToolFilter, ToolHub, expose_names

if TYPE_CHECKING:
    from marketplace.lockfile import LockedTool
    from marketplace.project import Project
    from marketplace.usage import UsageRecorder
    from runtime.gateway._audit import Redactor
    from runtime.gateway._listing import ListingCache
    from runtime.gateway._stdio_backend import Notify, StdioBackend

log = logging.getLogger(__name__)

_MAX_RESULT_CHARS = 1_000_000  # HTTP servers (ToolHub): a gateway forwards, the client judges


@dataclass(frozen=True)
class Called:
    """One call's answer: the ``CallToolResult`` to send back, and what the audit log needs."""

    result: dict[str, Any]
    server: str  # "" when the name offers no tool
    error: str | None  # first text of an error result, None when the call succeeded


@dataclass(eq=False)
class _Slot:
    """One locked server: what is known of its tools, and its backend once started."""

    short: str
    locked: LockedTool
    key: str
    tools: list[dict[str, Any]] | None = None  # recorded or live listing
    stdio: StdioBackend | None = None
    hub: ToolHub | None = None  # a server reached over HTTP
    hub_names: dict[str, str] = field(default_factory=dict)  # tool -> name inside the hub
    error: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def started(self) -> bool:
        return self.stdio is not None or self.hub is not None


def _pinned_listing(project: Project, tool: LockedTool) -> list[dict[str, Any]] | None:
    """The tool list the lock pins for ``tool``, from the pins store (its digest checked).

    It is exactly what the server must list when it starts (a server listing anything else
    is refused), so ``tools/list`` can be answered before any server runs, right after
    ``mgx tool install``, without a first run to record the list.
    """
    if tool.tool_pins is None:
        return None
    from marketplace.tool_pins import load_descriptions, pins_store

    return load_descriptions(pins_store(project.settings), tool.tool_pins)


class Backends:
    """The servers of one tool set, as one namespaced list of tools."""

    def __init__(
        self,
        project: Project,
        tools: dict[str, LockedTool],
        *,
        short_names: dict[str, str],
        prefix: bool,
        tool_filter: ToolFilter | None,
        listing: ListingCache,
        redactor: Redactor,
        log_dir: Path | None,
        call_timeout: float,
        startup_timeout: float,
        on_warning: Callable[[str], None] = lambda _w: None,
    ) -> None:
        from runtime.gateway._listing import listing_key

        if not prefix and len(tools) != 1:
            raise GatewayError("unprefixed tool names need exactly one server")
        self._project = project
        self._prefix = prefix
        self._filter = tool_filter
        self._listing = listing
        self._redactor = redactor
        self._log_dir = log_dir
        self._call_timeout = call_timeout
        self._startup_timeout = startup_timeout
        self._on_warning = on_warning
        self._slots = {
            name: _Slot(short=short_names[name], locked=tool, key=listing_key(tool))
            for name, tool in tools.items()
        }
        for slot in self._slots.values():
            # The pins first: `mgx tool trust` may have re-pinned the same package.
            slot.tools = _pinned_listing(project, slot.locked) or listing.get(slot.key)
        self._exposed: dict[str, tuple[_Slot, str]] = {}
        self._usage: UsageRecorder | None = None  # for stdio servers (a ToolHub counts its own)

    # --- listing ---------------------------------------------------------------------------
    async def list_tools(self) -> list[HubTool]:
        """Every admitted tool; servers without a recorded listing are started (in parallel)."""
        missing = [s for s in self._slots.values() if s.tools is None and s.error is None]
        if missing:
            await asyncio.gather(*(self._start_quietly(s) for s in missing))
        return self._index()

    def recorded(self) -> bool:
        """Whether ``tools/list`` can be answered without starting any server."""
        return all(s.tools is not None for s in self._slots.values())

    def _index(self) -> list[HubTool]:
        pairs = [
            (slot.short, str(t["name"])) for slot in self._slots.values() for t in slot.tools or ()
        ]
        by_pair = {
            (slot.short, str(t["name"])): (slot, t)
            for slot in self._slots.values()
            for t in slot.tools or ()
        }
        names = expose_names(pairs) if self._prefix else {p: p[1] for p in pairs}
        exposed: dict[str, tuple[_Slot, str]] = {}
        out: list[HubTool] = []
        for pair, name in sorted(names.items(), key=lambda item: item[1]):
            slot, raw = by_pair[pair]
            tool = HubTool(
                name=name,
                server=slot.short,
                tool=pair[1],
                description=str(raw.get("description") or pair[1]),
                input_schema=dict(raw.get("inputSchema") or {"type": "object", "properties": {}}),
            )
            if self._filter is not None and not self._filter.admits(tool):
                continue
            exposed[name] = (slot, pair[1])
            out.append(tool)
        self._exposed = exposed
        return out

    # --- starting --------------------------------------------------------------------------
    async def _start_quietly(self, slot: _Slot) -> None:
        with contextlib.suppress(Exception):  # the error is kept on the slot and reported
            await self._start(slot)

    async def _start(self, slot: _Slot) -> None:
        async with slot.lock:
            if slot.started:
                return
            if slot.error is not None:
                raise GatewayError(slot.error)
            try:
                tools = await self._open(slot)
            except Exception as exc:
                slot.error = self._redactor.text(
                    f"server {slot.short!r} cannot start: {_first_line(exc)}"
                )
                log.warning("%s", slot.error)
                raise GatewayError(slot.error) from exc
            slot.tools = sorted(tools, key=lambda t: str(t["name"]))
            try:
                self._listing.put(slot.key, slot.tools)
            except OSError as exc:  # a read-only state dir costs laziness, not correctness
                log.warning("cannot record the tool list of %s: %s", slot.short, exc)

    async def _open(self, slot: _Slot) -> list[dict[str, Any]]:
        """Preflight, then start the server; returns its tools (name, description, schema)."""
        from runtime.gateway.preflight import preflight
        from runtime.toolset_loader import locked_server_spec

        cleared = preflight(self._project, slot.locked)
        for warning in cleared.warnings:
            self._on_warning(warning)
        self._redactor.add([*cleared.launch.env.values(), *cleared.launch.headers.values()])
        spec = locked_server_spec(self._project, slot.locked, slot.short, cleared.launch)
        if spec.transport == "stdio":
            from runtime.gateway._stdio_backend import StdioBackend

            backend = StdioBackend(
                spec,
                log_dir=self._log_dir,
                startup_timeout=self._startup_timeout,
                max_restarts=1,
                client_version=mgx_version(),
            )
            await backend.start()
            slot.stdio = backend
            if self._usage is None:
                from marketplace.usage import UsageRecorder

                self._usage = UsageRecorder.from_env(self._project.settings)
            return [_listed(t) for t in backend.tools]
        hub = ToolHub(
            [spec],
            call_timeout=self._call_timeout,
            startup_timeout=self._startup_timeout,
            max_restarts=1,
            max_result_chars=_MAX_RESULT_CHARS,
            log_dir=self._log_dir,
        )
        await hub.__aenter__()
        slot.hub = hub
        live = hub.tools()
        slot.hub_names = {t.tool: t.name for t in live}
        return [
            {"name": t.tool, "description": t.description, "inputSchema": t.input_schema}
            for t in live
        ]

    # --- calls -----------------------------------------------------------------------------
    def resolve(self, name: str) -> tuple[str, str] | None:
        """``(server, tool)`` behind an exposed name, or None when it is not offered."""
        found = self._exposed.get(name)
        return (found[0].short, found[1]) if found else None

    async def call(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        meta: dict[str, Any] | None = None,
        notify: Notify | None = None,
    ) -> Called:
        """Call the tool exposed as ``name``; every failure is an ``isError`` result.

        ``meta`` (the request's ``_meta``, e.g. a progress token) goes to a stdio server with
        the call, and ``notify`` receives the progress notifications it sends for it.
        """
        if not self._exposed:
            await self.list_tools()  # a client may call without listing first
        found = self._exposed.get(name)
        if found is None:
            hint = ", ".join(sorted(self._exposed)[:20]) or "none"
            failed = "; ".join(s.error for s in self._slots.values() if s.error)
            why = f". Not started: {failed}" if failed else ""
            text = f"Tool error: there is no tool named {name!r}. Available tools: {hint}{why}"
            return Called(result=_error_result(text), server="", error=text)
        slot, tool = found
        try:
            await self._start(slot)
        except GatewayError as exc:
            text = f"Tool error: {exc}"
            return Called(result=_error_result(text), server=slot.short, error=text)
        if slot.stdio is not None:
            started = time.perf_counter()
            error: str | None = "cancelled"
            try:
                result = await slot.stdio.call(
                    tool, arguments, timeout=self._call_timeout, meta=meta, notify=notify
                )
                error = _error_text(result)
            finally:  # a cancelled call counts too (as an error)
                if self._usage is not None:
                    seconds = time.perf_counter() - started
                    self._usage.record(slot.short, tool, error=error is not None, seconds=seconds)
            return Called(result=result, server=slot.short, error=error)
        return await self._call_hub(slot, name, tool, arguments)

    async def _call_hub(
        self, slot: _Slot, name: str, tool: str, arguments: dict[str, Any]
    ) -> Called:
        inner = slot.hub_names.get(tool)
        if slot.hub is None or inner is None:
            text = f"Tool error: server {slot.short!r} no longer offers {tool!r}"
            return Called(result=_error_result(text), server=slot.short, error=text)
        outcome = await slot.hub.call(inner, arguments)
        result: dict[str, Any] = {
            "content": [{"type": "text", "text": outcome.text}],
            "isError": outcome.is_error,
        }
        if isinstance(outcome.structured, dict):
            result["structuredContent"] = outcome.structured
        return Called(
            result=result, server=slot.short, error=outcome.text if outcome.is_error else None
        )

    def status(self) -> list[dict[str, Any]]:
        """Per server: started or not, restarts, error (for the ready line and ``--json``)."""
        out = []
        for name, slot in self._slots.items():
            state = "failed" if slot.error else "idle"
            restarts = 0
            if slot.stdio is not None:
                state, restarts = slot.stdio.state, slot.stdio.restarts
            elif slot.hub is not None:
                st = slot.hub.status()[0]
                state, restarts = st.state, st.restarts
            out.append({"server": name, "name": slot.short, "state": state, "restarts": restarts})
        return out

    async def aclose(self) -> None:
        """Stop every started server and write the usage counts (never raises)."""
        stops = [s.stdio.stop() for s in self._slots.values() if s.stdio is not None]
        stops += [s.hub.__aexit__(None, None, None) for s in self._slots.values() if s.hub]
        for slot in self._slots.values():
            slot.stdio = slot.hub = None
        await asyncio.gather(*stops, return_exceptions=True)
        if self._usage is not None:
            self._usage.flush()


def _listed(tool: dict[str, Any]) -> dict[str, Any]:
    """What the gateway keeps of a listed tool (and records): name, description, schema.

    The same normalisation as the runtime's hub: a description falls back to the title or the
    name, and the input schema is always an object schema.
    """
    name = str(tool["name"])
    description = str(tool.get("description") or tool.get("title") or name).strip()
    schema = tool.get("inputSchema")
    schema = dict(schema) if isinstance(schema, dict) else {}
    if schema.get("type") != "object":
        schema = {"type": "object", **schema} if schema else {"type": "object", "properties": {}}
    schema.setdefault("properties", {})
    return {"name": name, "description": description, "inputSchema": schema}


def _error_result(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


def _error_text(result: dict[str, Any]) -> str | None:
    """The first text of an error result (for the audit log); None for a success."""
    if not result.get("isError"):
        return None
    for block in result.get("content") or ():
        if isinstance(block, dict) and block.get("type") == "text" and block.get("text"):
            return str(block["text"])
    return "error"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
