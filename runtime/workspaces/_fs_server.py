"""The file tools: the marketplace's filesystem MCP server, started per agent with only the
directories that agent may reach.

``@modelcontextprotocol/server-filesystem`` takes its allowed directories as arguments and
refuses paths outside them (symlinks resolved), but it has no read-only mode. So an agent
gets up to two instances:

- ``workspace``: the directories it may write (its workspace; for the presenter also the
  staging copies of ``write`` context paths), all tools;
- ``files``: the directories it may only read (the others' snapshots, ``read`` context
  paths, earlier turns' workspaces), and only the tools in ``READ_TOOLS`` (all annotated
  ``readOnlyHint`` by the server): a write tool simply does not exist there.

Every call is also checked by mgx itself (``AgentAccess.check``) before it is forwarded, and
read-only trees are 0444/0555 on disk: three independent fences, so one tool bug is not a leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from runtime.tools import ServerSpec, ToolFilter
from runtime.workspaces._errors import PathRefused, WorkspaceConfigError
from runtime.workspaces._paths import resolve_inside, tool_call_paths

if TYPE_CHECKING:
    from marketplace.settings import Settings
    from runtime.tools._model import HubTool

__all__ = [
    "FILESYSTEM_PACKAGE",
    "FILESYSTEM_SERVER",
    "READ_SERVER",
    "READ_TOOLS",
    "WRITE_SERVER",
    "AgentAccess",
    "FileServers",
    "file_servers",
    "is_file_write",
    "locked_filesystem_server",
]

FILESYSTEM_SERVER = "io.github.modelcontextprotocol/server-filesystem"
FILESYSTEM_PACKAGE = "@modelcontextprotocol/server-filesystem"
WRITE_SERVER = "workspace"
READ_SERVER = "files"
# An allow-list, not a deny-list: a write tool added by a later server version stays hidden
# from the read-only instance until it is reviewed and listed here.
READ_TOOLS = frozenset(
    {
        "read_file",
        "read_text_file",
        "read_media_file",
        "read_multiple_files",
        "list_directory",
        "list_directory_with_sizes",
        "directory_tree",
        "search_files",
        "get_file_info",
        "list_allowed_directories",
    }
)

Phase = Literal["coordination", "presentation"]


@dataclass(frozen=True, kw_only=True)
class AgentAccess:
    """The directories one agent may reach in one phase, and what each one is."""

    agent_id: str
    phase: Phase
    write_dirs: tuple[Path, ...] = ()
    read_dirs: tuple[Path, ...] = ()
    labels: Mapping[Path, str] = field(default_factory=dict)  # dir -> what it is, for prompts

    @property
    def allowed_dirs(self) -> list[Path]:
        """Every directory the agent's file tools are started with (writable first)."""
        return [*self.write_dirs, *self.read_dirs]

    def check(self, server: str, tool: str, arguments: Mapping[str, Any]) -> list[Path]:
        """mgx's own check of one file-tool call; ``PathRefused`` (a tool error for the model)
        when a path is outside what ``server`` may reach, or a write goes to a read-only one.

        Returns the resolved paths.
        """
        if server == READ_SERVER:
            if tool not in READ_TOOLS:
                raise PathRefused(f"{tool}: these directories are read-only")
            roots = self.read_dirs
        elif server == WRITE_SERVER:
            roots = self.write_dirs
        else:
            return []
        return [resolve_inside(raw, roots) for raw in tool_call_paths(arguments)]

    def describe(self) -> str:
        """The directories as text for the agent's prompt."""
        lines = []
        for path in self.write_dirs:
            lines.append(f"- {path} (read and write): {self.labels.get(path, '')}".rstrip(": "))
        for path in self.read_dirs:
            lines.append(f"- {path} (read-only): {self.labels.get(path, '')}".rstrip(": "))
        return "\n".join(lines)


@dataclass(frozen=True, kw_only=True)
class FileServers:
    """The filesystem server instances of one agent and the filter that hides write tools."""

    specs: tuple[ServerSpec, ...]
    tool_filter: ToolFilter


def is_file_write(tool: HubTool) -> bool:
    """Whether ``tool`` writes files (for planning mode: a side effect held back during
    coordination). Everything on the writable server that is not a known reading tool."""
    return tool.server == WRITE_SERVER and tool.tool not in READ_TOOLS


def _admit(tool: HubTool) -> bool:
    return tool.server != READ_SERVER or tool.tool in READ_TOOLS


def file_servers(base: ServerSpec, access: AgentAccess) -> FileServers:
    """Server specs for ``access``: ``base`` (the locked filesystem server, started without
    directories) with the directories appended as its arguments, one instance per kind."""
    specs: list[ServerSpec] = []
    if access.write_dirs:
        specs.append(
            replace(
                base,
                name=WRITE_SERVER,
                command=(*base.command, *(str(d) for d in access.write_dirs)),
            )
        )
    if access.read_dirs:
        specs.append(
            replace(
                base,
                name=READ_SERVER,
                command=(*base.command, *(str(d) for d in access.read_dirs)),
            )
        )
    return FileServers(specs=tuple(specs), tool_filter=ToolFilter(predicate=_admit))


def locked_filesystem_server(settings: Settings, project_dir: Path | str | None) -> ServerSpec:
    """The filesystem server from the project's lock (installed through the marketplace),
    without directories; ``WorkspaceConfigError`` naming the install command when absent.

    Directories bound in the manifest (``args``) are dropped: an agent's server is started
    with exactly the directories that agent may reach, nothing the project granted globally.
    The lock's pinned tool descriptions come along: every instance's ``tools/list`` is
    compared with them at its start (the list does not depend on the directories), and they
    let a hub show the file tools before the server is up (``ToolHub``'s ``deferred``).
    """
    from dataclasses import replace as replaced

    from marketplace.errors import MarketplaceError
    from marketplace.lockfile import read_lock
    from marketplace.project import find_project, launch_spec
    from runtime.toolset_loader import locked_server_spec

    try:
        project = find_project(project_dir, settings=settings)
        lock = read_lock(project.lock_path)
    except MarketplaceError as exc:
        raise WorkspaceConfigError(f"workspaces need the filesystem MCP server: {exc}") from exc
    for tool in lock.tools.values() if lock else ():
        if tool.package.identifier == FILESYSTEM_PACKAGE:
            try:
                bare = replaced(tool, args={})
                return locked_server_spec(project, bare, "filesystem", launch_spec(project, bare))
            except MarketplaceError as exc:
                raise WorkspaceConfigError(f"filesystem MCP server: {exc}") from exc
    raise WorkspaceConfigError(
        f"workspaces need the filesystem MCP server; run `mgx tool install {FILESYSTEM_SERVER}`"
    )
