"""Exceptions of the workspaces package.

WorkspaceError             (a MgxRuntimeError: exit 1) a snapshot, copy or cleanup failed
├── WorkspaceLimitError    an agent's workspace is over its size or file-count limit
├── PathRefused            a path reaches outside what its agent may touch (``..``, symlink…)
└── WorkspaceConfigError   bad input found before anything starts (exit 2): a context path
                           that does not exist or overlaps a workspace, a bad session name…
"""

from __future__ import annotations

from runtime.errors import MgxRuntimeError


class WorkspaceError(MgxRuntimeError):
    """Root of the workspace errors."""


class WorkspaceLimitError(WorkspaceError):
    """A workspace holds more bytes or files than its limit allows."""


class PathRefused(WorkspaceError):
    """A path an agent (or a tool call) named is outside what it may reach."""


class WorkspaceConfigError(WorkspaceError):
    """Bad configuration or command-line input: reported before the run starts."""

    exit_code = 2
