"""A team run's files: workspaces, file tools per agent, snapshots, the presenter's files.

``plan_files`` checks everything before the run starts (context paths, ``--output``, the
locked filesystem server, the session) and makes the run's directory; ``TeamFiles`` is the
``FileHooks`` object the coordination loop calls, and ``finish`` ends the run's file work
(context writes or their diff, ``--output``, cleanup, the session's new turn).

Each agent gets its own ``GuardedToolHub``: the filesystem MCP server from the project's
lock, started with exactly the directories the agent may reach (``RunWorkspaces.access``),
next to the agent's other MCP servers; mgx's own path check runs before every file call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.errors import TeamConfigError
from runtime.workspaces import (
    READ_SERVER,
    WRITE_SERVER,
    AgentAccess,
    GuardedToolHub,
    RunWorkspaces,
    SessionStore,
    check_output_dir,
    file_servers,
    locked_filesystem_server,
    new_run_dir,
    remove_tree,
    validate_context_paths,
)

if TYPE_CHECKING:
    from marketplace.settings import Settings
    from runtime.coordination import Member
    from runtime.teams._spec import TeamSpec
    from runtime.tools import HubTool, ServerSpec, ServerStatus, StartWhen, ToolFilter, ToolHub
    from runtime.workspaces import SessionContext, WorkspaceResult

__all__ = ["FilesOptions", "TeamFiles", "plan_files", "record_turn", "session_prompt"]

_FILES_NOTE = (
    "Your file tools reach these directories (give absolute paths):\n{dirs}\n"
    "Write your work into your workspace; the other agents see it when you answer."
)
_PRESENTER_NOTE = (
    "Your file tools reach these directories (give absolute paths):\n{dirs}\n"
    "Your workspace already holds the chosen answer's files: finish the work there; it is "
    "the run's output."
)


# When each file server starts (honoured where the lock pins the server's tools, so that
# the agents get their tool list without it): the writable one while the agents make their
# first requests, the read-only one only when an agent first reads with it.
_FILE_SERVERS_START: Mapping[str, StartWhen] = {
    WRITE_SERVER: "background",
    READ_SERVER: "first_call",
}


@dataclass(frozen=True, kw_only=True)
class FilesOptions:
    """The CLI's options about files (``mgx run``)."""

    output: Path | None = None  # --output: copy the final workspace here
    keep: bool = False  # --keep: leave the run's temporary trees in place
    dry_run_writes: bool = False  # --dry-run-writes: diff context writes, do not apply
    session: str | None = None  # --session: earlier turns as context; record this one


def session_prompt(context: SessionContext | None) -> str:
    """The earlier turns as text for the system prompts ('' without a session)."""
    return context.prompt() if context is not None else ""


def _raw_context_paths(spec: TeamSpec) -> list[dict[str, str]]:
    entries = [*spec.workspace.context_paths]
    for agent in spec.agents:  # MassGen also accepts them per backend: one list for the run
        entries += [c for c in agent.backend.workspace.context_paths if c not in entries]
    return [{"path": c.path, "permission": c.permission} for c in entries]


def plan_files(
    spec: TeamSpec,
    options: FilesOptions,
    *,
    settings: Settings,
    project_dir: Path | None,
    base: Path,
) -> tuple[TeamFiles | None, SessionContext | None]:
    """Check the run's file setup and make its directory; ``(None, context)`` when the run
    needs no files. Every error is one line, raised before any agent starts."""
    context = SessionStore(settings).context(options.session) if options.session else None
    agents = [a.id for a in spec.agents if a.backend.workspace.cwd]
    raw_paths = _raw_context_paths(spec)
    session_dirs = list(context.read_only_dirs) if context is not None else []
    if not (agents or raw_paths or session_dirs):
        if options.output is not None:
            raise TeamConfigError("--output needs a team whose agents have workspaces (cwd)")
        if options.dry_run_writes:
            raise TeamConfigError("--dry-run-writes needs a context path with 'write'")
        return None, context
    # Checked before the lock is read, so a bad entry is named even in a project without it.
    validate_context_paths(raw_paths, base=base, reserved=session_dirs)
    if options.dry_run_writes and not any(e["permission"] == "write" for e in raw_paths):
        raise TeamConfigError("--dry-run-writes needs a context path with 'write'")
    if options.output is not None:
        if not agents:
            raise TeamConfigError("--output needs a team whose agents have workspaces (cwd)")
        check_output_dir(options.output)
    fs = locked_filesystem_server(settings, project_dir)
    run_dir = new_run_dir(settings)
    try:
        ws = RunWorkspaces.from_config(
            run_dir,
            workspace_agents=agents,
            context_paths=raw_paths,
            base=base,
            session_dirs=session_dirs,
            dry_run_writes=options.dry_run_writes,
        )
    except BaseException:
        remove_tree(run_dir)
        raise
    return TeamFiles(ws, fs, options, session_prompt(context)), context


@dataclass(kw_only=True)
class _Agent:
    """What the hooks need of one agent: its other MCP servers, filter and prompt."""

    servers: Sequence[ServerSpec]
    tool_filter: ToolFilter
    system_message: str | None
    hub: GuardedToolHub | None = None
    access: AgentAccess | None = None


@dataclass(kw_only=True)
class _Hubs:
    options: Mapping[str, Any] = field(default_factory=dict)  # ToolHub keyword options
    stack: contextlib.AsyncExitStack | None = None


class TeamFiles:
    """The ``FileHooks`` of one run, over its ``RunWorkspaces``."""

    def __init__(
        self, ws: RunWorkspaces, fs: ServerSpec, options: FilesOptions, session_text: str = ""
    ) -> None:
        self.ws = ws
        self.session_text = session_text
        self.fs = fs
        self.options = options
        self.agents: dict[str, _Agent] = {}
        self._hubs = _Hubs()
        self.finished = False

    # -- before the run ---------------------------------------------------------------------
    def add_agent(
        self,
        name: str,
        *,
        servers: Sequence[ServerSpec],
        tool_filter: ToolFilter,
        system_message: str | None,
    ) -> None:
        """Register an agent (its other MCP servers, its filter of them, its prompt)."""
        self.agents[name] = _Agent(
            servers=servers, tool_filter=tool_filter, system_message=system_message
        )

    async def start(self, stack: contextlib.AsyncExitStack, **hub_options: Any) -> None:
        """Enter every agent's hub, all at once. The file servers' starts (node, the slow
        part) are deferred when the lock pins their tools: ``workspace`` starts in the
        background, behind the agents' first model requests, and ``files`` (idle until
        there is something to read) at its first call; a call waits for its server."""
        # Starting node is CPU-bound (about 0.35 s of CPU each): one start per CPU at a time
        # gets the first servers up sooner than all of them sharing the CPUs, and the last
        # no later.
        slots = asyncio.Semaphore(max(1, os.cpu_count() or 1))
        self._hubs = _Hubs(options={**hub_options, "start_slots": slots}, stack=stack)
        for name, agent in self.agents.items():
            agent.access = await asyncio.to_thread(self.ws.access, name, "coordination")
            agent.hub = self._hub(agent.access, agent.servers)
        hubs = [a.hub for a in self.agents.values() if a.hub is not None]
        await stack.enter_async_context(_all_entered(hubs))

    def _hub(self, access: AgentAccess, servers: Sequence[ServerSpec]) -> GuardedToolHub:
        files = file_servers(self.fs, access)
        return GuardedToolHub(
            [*files.specs, *servers],
            access=access,
            deferred=_FILE_SERVERS_START,
            **self._hubs.options,
        )

    def tool_filter(self, name: str) -> ToolFilter:
        """The agent's filter: its own servers' tools (as configured) and its file tools
        (the read-only instance shows only reading tools)."""
        from runtime.tools import ToolFilter

        agent = self.agents[name]
        inner = agent.tool_filter
        files = file_servers(self.fs, agent.access or self.ws.access(name, "coordination"))
        reading = files.tool_filter.predicate

        def admits(tool: HubTool) -> bool:
            if tool.server in (WRITE_SERVER, READ_SERVER):
                return reading is None or bool(reading(tool))
            return inner.predicate is None or bool(inner.predicate(tool))

        return ToolFilter(allow=inner.allow, deny=inner.deny, predicate=admits)

    def system_message(self, name: str, access: AgentAccess | None) -> str:
        """The agent's own system message, the session's earlier turns, its directories."""
        base = self.agents[name].system_message
        parts = [p.strip() for p in (base or "", self.session_text) if p and p.strip()]
        if access is not None and access.allowed_dirs:
            note = _PRESENTER_NOTE if access.phase == "presentation" else _FILES_NOTE
            parts.append(note.format(dirs=access.describe()))
        return "\n\n".join(parts)

    def statuses(self) -> list[ServerStatus]:
        """Every started server's status (file servers included)."""
        out: list[ServerStatus] = []
        for agent in self.agents.values():
            if agent.hub is not None:
                out += agent.hub.status()
        return out

    # -- FileHooks --------------------------------------------------------------------------
    def hub_for(self, name: str) -> ToolHub | None:
        agent = self.agents.get(name)
        return agent.hub if agent is not None else None

    async def round_starts(self, name: str) -> None:
        await asyncio.to_thread(self.ws.view_for, name)

    async def answered(self, name: str, anon_id: str) -> None:
        await asyncio.to_thread(self.ws.on_new_answer, name, anon_id)

    async def presenting(
        self, winner: str, presenter: str, member: Member
    ) -> tuple[ToolHub | None, Member]:
        access = await asyncio.to_thread(self.ws.prepare_presenter, winner, presenter)
        agent = self.agents[presenter]
        hub = agent.hub
        same = agent.access is not None and agent.access.allowed_dirs == access.allowed_dirs
        if hub is not None and same:
            hub.access = access  # the same directories: the running servers serve it
        else:
            assert self._hubs.stack is not None, "start() first"
            fresh = self._hub(access, agent.servers)
            await self._hubs.stack.enter_async_context(fresh)
            agent.hub = hub = fresh
        agent.access = access
        message = self.system_message(presenter, access)
        return hub, replace(member, system_message=message or None)

    # -- after the run ----------------------------------------------------------------------
    async def finish(self) -> WorkspaceResult:
        """Context writes (or their diff), ``--output``, cleanup unless ``--keep``."""
        self.finished = True
        return await asyncio.to_thread(self.ws.finish, self.options.output, keep=self.options.keep)

    def abandon(self) -> None:
        """The run failed: remove its directory unless ``--keep``."""
        if not self.options.keep:
            remove_tree(self.ws.layout.root)


@contextlib.asynccontextmanager
async def _all_entered(hubs: Sequence[ToolHub]) -> AsyncIterator[None]:
    """Enter every hub at once and leave them all at once: stopping an agent's file servers
    takes a few tens of milliseconds each, which one after another add up at the run's end.
    A hub whose entering fails or is cancelled stops its own servers (``ToolHub``)."""
    entered: list[ToolHub] = []

    async def enter(hub: ToolHub) -> None:
        await hub.__aenter__()
        entered.append(hub)

    try:
        async with asyncio.TaskGroup() as group:
            for hub in hubs:
                group.create_task(enter(hub))
        yield
    finally:
        # Shielded: a cancelled run still waits until every server has gone.
        await asyncio.shield(asyncio.gather(*(h.__aexit__(None, None, None) for h in entered)))


def record_turn(
    settings: Settings,
    name: str,
    *,
    task: str,
    answer: str,
    workspace: Path | None,
    started_at: float,
    winner: str | None,
) -> dict[str, Any]:
    """Record a session's turn; what ``--json`` shows of it."""
    turn = SessionStore(settings).record(
        name, task=task, answer=answer, workspace=workspace, started_at=started_at, winner=winner
    )
    return {"name": name, **turn.to_json()}
