"""The hook through which a run's files (workspaces, snapshots, context paths) follow the
coordination, without the loop knowing anything about files.

The orchestrator calls it at four points: which tool hub an agent uses, when an agent's
round starts (its view of the others' snapshots is rebuilt), when an agent gave a new answer
(its workspace is snapshotted before the others restart on that answer), and when the
presenter is chosen (the winner's files are restored for it; it may get other tools and
another system message). ``runtime.teams`` implements it over ``runtime.workspaces``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from runtime.coordination._model import Member
    from runtime.tools import ToolHub


class FileHooks(Protocol):
    """What the orchestrator asks of a run's file handling (agents named by their
    configured names, never by their anonymous ids, except ``anon_id``)."""

    def hub_for(self, name: str) -> ToolHub | None:
        """The agent's own tool hub (its file tools and its other MCP servers); None: the
        run's shared hub."""
        ...

    async def round_starts(self, name: str) -> None:
        """The agent starts (or restarts) a round: show it the current snapshots."""
        ...

    async def answered(self, name: str, anon_id: str) -> None:
        """The agent gave a new answer (``anon_id`` is how the others see it): snapshot its
        files. An ``MgxRuntimeError`` (e.g. a workspace over its limits) fails the round."""
        ...

    async def presenting(
        self, winner: str, presenter: str, member: Member
    ) -> tuple[ToolHub | None, Member]:
        """Prepare the presentation: the hub and member the presenter runs with."""
        ...
