"""The restart rule every server connection follows, however it speaks to its server.

A server that crashed is restarted, at most ``max_restarts`` times; a call that timed out
only triggers a probe (one cheap request), and the server is restarted if that fails too.
Only one check or restart runs at a time, and a failure seen by several callers restarts
the server once. The runtime's ``ServerConnection`` (mcp SDK client) and the gateway's
``StdioBackend`` (plain JSON-RPC) share it, so agents and clients see servers fail alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from runtime.tools._model import ServerSpec, ServerState

__all__ = ["RestartRule", "describe_error"]

log = logging.getLogger(__name__)

_MAX_PROBE_TIMEOUT = 5.0


class RestartRule:
    """Mixin: the attributes below are set by the connection, which implements the hooks."""

    spec: ServerSpec
    state: ServerState
    error: str | None
    restarts: int
    _max_restarts: int
    _generation: int  # bumped at every start: a stale failure report is ignored
    _restart_task: asyncio.Task[None] | None
    _lock: asyncio.Lock  # held while the server starts, stops or restarts

    async def start(self) -> None:
        raise NotImplementedError

    async def _probe(self, handle: Any) -> None:
        """Send one cheap request to the running server (``handle``); raise if it fails."""
        raise NotImplementedError

    async def _stop_instance(self) -> None:
        """Stop the running instance (if any) before a restart; the lock is held."""
        raise NotImplementedError

    async def _restart(self, generation: int, why: str) -> None:
        """Stop instance ``generation`` and start another, within the restart limit."""
        async with self._lock:
            if generation != self._generation:
                return  # already restarted by another caller
            await self._stop_instance()
            if self.restarts >= self._max_restarts:
                self.state = "failed"
                self.error = f"{why}; restart limit ({self._max_restarts}) reached"
                return
            self.restarts += 1
            log.warning("restarting MCP server %s (%s)", self.spec.name, why)
            started = time.perf_counter()
            try:
                await self.start()
            except Exception as exc:
                self.state = "failed"
                self.error = f"{why}; restart failed: {describe_error(exc)}"
            else:
                took = time.perf_counter() - started
                log.info("server %s restarted in %.2fs", self.spec.name, took)

    async def _responsive(self, handle: Any, timeout: float) -> bool:
        try:
            async with asyncio.timeout(min(_MAX_PROBE_TIMEOUT, max(timeout, 0.5))):
                await self._probe(handle)
            return True
        except Exception:
            return False

    def _schedule_probe(self, handle: Any, generation: int, timeout: float) -> None:
        if self._restart_task is not None and not self._restart_task.done():
            return  # a check or restart is already under way

        async def probe() -> None:
            if not await self._responsive(handle, timeout):
                await self._restart(generation, "stopped responding")

        self._restart_task = asyncio.create_task(probe())

    def _restart_note(self) -> str:
        if self.restarts < self._max_restarts:
            return "; it is being restarted, you may retry"
        return "; it will not be restarted again"

    def _schedule_restart(self, generation: int, why: str) -> None:
        if generation != self._generation or (self._restart_task and not self._restart_task.done()):
            return  # another caller already saw this instance fail
        self._restart_task = asyncio.create_task(self._restart(generation, why))


def describe_error(exc: BaseException) -> str:
    """``Type: first line`` of ``exc`` (the first of a group), for one-line messages."""
    if isinstance(exc, BaseExceptionGroup):
        return describe_error(exc.exceptions[0]) if exc.exceptions else type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
