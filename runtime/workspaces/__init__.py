"""Per-agent file workspaces, snapshots, read-only views, context paths and sessions.

How the orchestrator uses it (one object per run; see docs/workspaces.md)::

    ws = RunWorkspaces.from_config(run_dir, workspace_agents=["a1", "a2"],
                                   context_paths=cfg.context_paths, base=Path.cwd(),
                                   session_dirs=SessionStore(settings).context(name).read_only_dirs)
    fs = locked_filesystem_server(settings, project_dir)          # from the marketplace lock

    # an agent starts (or restarts after another's new answer):
    ws.view_for("a1")                                              # rebuild its read-only view
    access = ws.access("a1", "coordination")
    servers = file_servers(fs, access)                             # ServerSpecs + ToolFilter
    #   -> GuardedToolHub([*servers.specs, *other_specs], access=access): a ToolHub that runs
    #   access.check(...) before each file-tool call (PathRefused -> a tool error the model
    #   reads; the call is not forwarded); AgentConfig(tool_filter=servers.tool_filter)

    ws.on_new_answer("a1", "agent1")     # snapshot a1's workspace as snapshots/agent1
                                         # (WorkspaceLimitError -> tool error for new_answer)
    access = ws.prepare_presenter(winner_id="a2", presenter_id="a2")  # restore + stage writes
    result = ws.finish(output=Path("out"), keep=False)   # context writes, --output, cleanup
    result.to_json()                     # final_workspace, context_writes (or diff), run_dir

``RunWorkspaces.allowed_dirs(agent_id, phase)`` is the short form of ``access(...)`` for a
caller that only needs the directories. Sessions: ``SessionStore(settings).record(name, …)``
after a turn, ``.context(name)`` before the next (``.prompt()`` text, ``read_only_dirs``).

Errors: ``WorkspaceConfigError`` (exit 2, before the run), ``WorkspaceLimitError``,
``PathRefused``, both ``WorkspaceError`` (exit 1).
"""

from __future__ import annotations

from runtime.workspaces._context import ContextChange, ContextPath, validate_context_paths
from runtime.workspaces._copy import Limits, TreeStats, copy_tree, remove_tree
from runtime.workspaces._errors import (
    PathRefused,
    WorkspaceConfigError,
    WorkspaceError,
    WorkspaceLimitError,
)
from runtime.workspaces._fs_server import (
    FILESYSTEM_PACKAGE,
    FILESYSTEM_SERVER,
    READ_SERVER,
    READ_TOOLS,
    WRITE_SERVER,
    AgentAccess,
    FileServers,
    file_servers,
    is_file_write,
    locked_filesystem_server,
)
from runtime.workspaces._guarded_hub import GuardedToolHub
from runtime.workspaces._layout import RunLayout, new_run_dir
from runtime.workspaces._massgen import WorkspaceConfig, workspace_config
from runtime.workspaces._paths import is_within, resolve_inside
from runtime.workspaces._run import RunWorkspaces, SnapshotInfo, WorkspaceResult, check_output_dir
from runtime.workspaces._sessions import SessionContext, SessionStore, Turn

__all__ = [
    "FILESYSTEM_PACKAGE",
    "FILESYSTEM_SERVER",
    "READ_SERVER",
    "READ_TOOLS",
    "WRITE_SERVER",
    "AgentAccess",
    "ContextChange",
    "ContextPath",
    "FileServers",
    "GuardedToolHub",
    "Limits",
    "PathRefused",
    "RunLayout",
    "RunWorkspaces",
    "SessionContext",
    "SessionStore",
    "SnapshotInfo",
    "TreeStats",
    "Turn",
    "WorkspaceConfig",
    "WorkspaceConfigError",
    "WorkspaceError",
    "WorkspaceLimitError",
    "WorkspaceResult",
    "check_output_dir",
    "copy_tree",
    "file_servers",
    "is_file_write",
    "is_within",
    "locked_filesystem_server",
    "new_run_dir",
    "remove_tree",
    "resolve_inside",
    "validate_context_paths",
    "workspace_config",
]
