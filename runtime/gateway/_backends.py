"""The locked servers behind the gateway: started lazily, one ``ToolHub`` each.

A server starts on the first call to one of its tools, or when ``tools/list`` is asked and
no tool list was recorded for its locked package yet (see ``_listing``). Every start goes
through ``preflight`` first. Each server gets its own ``ToolHub`` (so one slow or broken
server never holds up another), which brings the runtime's behaviour along: a crashed or
hung server is restarted once, calls are bounded by a timeout, stderr goes to a log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.errors import GatewayError
from runtime.tools import HubTool, ToolFilter, ToolHub, ToolOutcome, expose_names

if TYPE_CHECKING:
    from marketplace.lockfile import LockedTool
    from marketplace.project import Project
    from runtime.gateway._audit import Redactor
    from runtime.gateway._listing import ListingCache

log = logging.getLogger(__name__)

_MAX_RESULT_CHARS = 1_000_000  # a gateway forwards; the client decides what is too long


@dataclass(eq=False)
class _Slot:
    """One locked server: what is known of its tools, and its hub once started."""

    short: str
    locked: LockedTool
    key: str
    tools: list[dict[str, Any]] | None = None  # recorded or live listing
    hub: ToolHub | None = None
    hub_names: dict[str, str] = field(default_factory=dict)  # tool -> name inside the hub
    error: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


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
            slot.tools = listing.get(slot.key)
        self._exposed: dict[str, tuple[_Slot, str]] = {}

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

    async def _start(self, slot: _Slot) -> ToolHub:
        async with slot.lock:
            if slot.hub is not None:
                return slot.hub
            if slot.error is not None:
                raise GatewayError(slot.error)
            try:
                hub = await self._open(slot)
            except Exception as exc:
                slot.error = self._redactor.text(
                    f"server {slot.short!r} cannot start: {_first_line(exc)}"
                )
                log.warning("%s", slot.error)
                raise GatewayError(slot.error) from exc
            slot.hub = hub
            live = hub.tools()
            slot.hub_names = {t.tool: t.name for t in live}
            slot.tools = [
                {"name": t.tool, "description": t.description, "inputSchema": t.input_schema}
                for t in sorted(live, key=lambda t: t.tool)
            ]
            try:
                self._listing.put(slot.key, slot.tools)
            except OSError as exc:  # a read-only state dir costs laziness, not correctness
                log.warning("cannot record the tool list of %s: %s", slot.short, exc)
            return hub

    async def _open(self, slot: _Slot) -> ToolHub:
        from runtime.gateway.preflight import preflight
        from runtime.toolset_loader import locked_server_spec

        cleared = preflight(self._project, slot.locked)
        for warning in cleared.warnings:
            self._on_warning(warning)
        self._redactor.add([*cleared.launch.env.values(), *cleared.launch.headers.values()])
        hub = ToolHub(
            [locked_server_spec(self._project, slot.locked, slot.short, cleared.launch)],
            call_timeout=self._call_timeout,
            startup_timeout=self._startup_timeout,
            max_restarts=1,
            max_result_chars=_MAX_RESULT_CHARS,
            log_dir=self._log_dir,
        )
        await hub.__aenter__()
        return hub

    # --- calls -----------------------------------------------------------------------------
    def resolve(self, name: str) -> tuple[str, str] | None:
        """``(server, tool)`` behind an exposed name, or None when it is not offered."""
        found = self._exposed.get(name)
        return (found[0].short, found[1]) if found else None

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Call the tool exposed as ``name``; every failure is an ``is_error`` outcome."""
        if not self._exposed:
            await self.list_tools()  # a client may call without listing first
        found = self._exposed.get(name)
        if found is None:
            hint = ", ".join(sorted(self._exposed)[:20]) or "none"
            failed = "; ".join(s.error for s in self._slots.values() if s.error)
            why = f". Not started: {failed}" if failed else ""
            return ToolOutcome(
                name=name,
                text=f"Tool error: there is no tool named {name!r}. Available tools: {hint}{why}",
                is_error=True,
            )
        slot, tool = found
        try:
            hub = await self._start(slot)
        except GatewayError as exc:
            return ToolOutcome(name=name, text=f"Tool error: {exc}", is_error=True)
        inner = slot.hub_names.get(tool)
        if inner is None:
            return ToolOutcome(
                name=name,
                text=f"Tool error: server {slot.short!r} no longer offers {tool!r}",
                is_error=True,
            )
        outcome = await hub.call(inner, arguments)
        return ToolOutcome(
            name=name,
            text=outcome.text,
            is_error=outcome.is_error,
            structured=outcome.structured,
            duration_s=outcome.duration_s,
        )

    def status(self) -> list[dict[str, Any]]:
        """Per server: started or not, restarts, error (for the ready line and ``--json``)."""
        out = []
        for name, slot in self._slots.items():
            state = "failed" if slot.error else "idle"
            restarts = 0
            if slot.hub is not None:
                st = slot.hub.status()[0]
                state, restarts = st.state, st.restarts
            out.append({"server": name, "name": slot.short, "state": state, "restarts": restarts})
        return out

    async def aclose(self) -> None:
        """Stop every started server (never raises)."""
        hubs = [s.hub for s in self._slots.values() if s.hub is not None]
        for slot in self._slots.values():
            slot.hub = None
        await asyncio.gather(*(h.__aexit__(None, None, None) for h in hubs), return_exceptions=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
