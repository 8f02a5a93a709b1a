"""A team as declared (in a MassGen-style YAML file or in mgx.toml's ``[team]``).

Plain frozen values, parsed once and checked before anything starts. They carry every key
the runtime understands, including the workspace keys (``cwd``, ``snapshot_storage``,
``agent_temporary_workspace``, ``context_paths``), parsed into ``WorkspaceSpec`` and served
by ``runtime.workspaces`` (see ``runtime.teams._files``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, kw_only=True)
class McpServerEntry:
    """One ``mcp_servers`` entry: a stdio command, a streamable-http URL, or (no command and
    no URL) the name of a server locked in the project's mgx.lock."""

    name: str
    transport: Literal["stdio", "streamable-http", "sse", "lock"]
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold ${VAR}s
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, kw_only=True)
class ContextPath:
    path: str
    permission: str = "read"


@dataclass(frozen=True, kw_only=True)
class WorkspaceSpec:
    """Filesystem workspace keys: an agent's ``cwd`` (its own workspace), the run's
    ``context_paths``; ``snapshot_storage``/``agent_temporary_workspace`` are accepted (each
    run has its own layout, docs/workspaces.md)."""

    cwd: str | None = None
    snapshot_storage: str | None = None
    agent_temporary_workspace: str | None = None
    context_paths: tuple[ContextPath, ...] = ()

    def keys(self) -> list[str]:
        """The workspace keys that are set."""
        names = ("cwd", "snapshot_storage", "agent_temporary_workspace", "context_paths")
        return [n for n in names if getattr(self, n)]


@dataclass(frozen=True, kw_only=True)
class BackendSpec:
    """Where an agent's model is and how it samples."""

    type: str
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)  # a literal or "${VAR}"
    temperature: float | None = None
    max_tokens: int | None = None
    request_extra: Mapping[str, Any] = field(default_factory=dict)  # top_p, reasoning_effort...
    mcp_servers: tuple[McpServerEntry, ...] = ()
    allowed_tools: tuple[str, ...] = ()
    exclude_tools: tuple[str, ...] = ()
    workspace: WorkspaceSpec = field(default_factory=WorkspaceSpec)


@dataclass(frozen=True, kw_only=True)
class AgentSpec:
    id: str
    backend: BackendSpec
    system_message: str | None = None


@dataclass(frozen=True, kw_only=True)
class TeamLimits:
    """``orchestrator`` / ``timeout_settings`` / ``[team]`` limits (None: no limit)."""

    timeout: float | None = None
    agent_timeout: float | None = None
    max_answers: int | None = None
    max_steps: int | None = None
    token_budget: int | None = None
    agent_token_budget: int | None = None
    planning: bool = False
    side_effect_tools: tuple[str, ...] = ()
    presenter: str | None = None
    require_tool_call: bool = False


@dataclass(frozen=True, kw_only=True)
class TeamSpec:
    """A whole team: agents in order (the first registered wins ties), limits, workspace."""

    agents: tuple[AgentSpec, ...]
    limits: TeamLimits = field(default_factory=TeamLimits)
    workspace: WorkspaceSpec = field(default_factory=WorkspaceSpec)  # orchestrator-level
    ui: Mapping[str, Any] = field(default_factory=dict)  # display hints; mgx decides by TTY
    source: str = ""  # the file it came from, for messages
    warnings: tuple[str, ...] = ()  # unknown or ignored keys (one line each)
    # Where relative context paths start: the manifest's folder for mgx.toml's [team];
    # None: the current directory (as MassGen resolves them).
    base_dir: str | None = None

    def unsupported(self) -> list[str]:
        """One line per key this release cannot serve (the run is refused while any exist).
        Every parsed key is served today; backend types are checked by ``check_team``."""
        return []
