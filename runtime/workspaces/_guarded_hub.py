"""A ``ToolHub`` that runs mgx's own path check before every file-tool call.

The agent loop calls ``hub.call``; an agent whose hub is a ``GuardedToolHub`` has each call
to its ``workspace``/``files`` servers checked against its ``AgentAccess`` first. A refused
call comes back as a tool error the model reads (``Tool error: …``) and never reaches the
server. Calls to the agent's other servers pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from runtime.tools import ServerSpec, ToolHub, ToolOutcome
from runtime.workspaces._errors import PathRefused
from runtime.workspaces._fs_server import READ_SERVER, WRITE_SERVER, AgentAccess

__all__ = ["GuardedToolHub"]


class GuardedToolHub(ToolHub):
    """``ToolHub`` plus ``AgentAccess.check`` on the file servers' calls.

    ``access`` may be replaced between calls (it is read on every call). The server names
    ``workspace`` and ``files`` are reserved for the file servers of ``file_servers``.
    """

    def __init__(self, servers: Sequence[ServerSpec], *, access: AgentAccess, **options: Any):
        super().__init__(servers, **options)
        self.access = access
        self._where: dict[str, tuple[str, str]] | None = None  # exposed -> (server, tool)

    async def call(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        allowed: Iterable[str] | None = None,
    ) -> ToolOutcome:
        if self._where is None:
            self._where = {t.name: (t.server, t.tool) for t in self.tools()}
        server, tool = self._where.get(name, ("", ""))
        if server in (WRITE_SERVER, READ_SERVER) and isinstance(arguments, dict):
            try:
                self.access.check(server, tool, arguments)
            except PathRefused as exc:
                return ToolOutcome(name=name, text=f"Tool error: {exc}", is_error=True)
        return await super().call(name, arguments, timeout=timeout, allowed=allowed)
