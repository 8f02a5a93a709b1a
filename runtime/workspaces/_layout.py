"""Where everything of one run lives: a fixed layout under the run's directory.

::

    <run_dir>/
      workspaces/<agent_id>/        each agent's own writable workspace (MassGen ``cwd``)
      snapshots/<anon_id>/          the workspace as it was at that agent's latest answer
                                    (MassGen ``snapshot_storage``), read-only, immutable
      views/<agent_id>/<anon_id>/   what ``agent_id`` sees of the others' snapshots
                                    (MassGen ``agent_temporary_workspace``), read-only
      context/<n>-<name>/           the presenter's staging copy of write context path n
      .tmp/                         copies in progress (renamed into place when complete)

Nothing is written outside ``run_dir`` except the user's ``--output`` directory and the
granted write context paths (at the end, file by file).
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from marketplace.settings import Settings
from runtime.workspaces._errors import WorkspaceConfigError

__all__ = ["RunLayout", "check_id", "new_run_dir"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_id(value: str, what: str = "agent id") -> str:
    """Ids become directory names: letters, digits, ``.``, ``_``, ``-``; at most 64."""
    if not _ID.match(value):
        raise WorkspaceConfigError(
            f"invalid {what} {value!r}: use letters, digits, '.', '_' or '-' (max 64)"
        )
    return value


def new_run_dir(settings: Settings, *, run_id: str | None = None) -> Path:
    """A new directory for one run under ``<state_dir>/runs`` (default id: time + random)."""
    run_id = check_id(
        run_id or time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3), "run id"
    )
    path = settings.state_dir / "runs" / run_id
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir()
    except FileExistsError:
        raise WorkspaceConfigError(f"run {run_id} already exists ({path})") from None
    return path


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run's directory (nothing is created by reading them)."""

    root: Path

    @property
    def workspaces(self) -> Path:
        return self.root / "workspaces"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def views(self) -> Path:
        return self.root / "views"

    @property
    def context(self) -> Path:
        return self.root / "context"

    @property
    def tmp(self) -> Path:
        return self.root / ".tmp"

    def workspace(self, agent_id: str) -> Path:
        return self.workspaces / check_id(agent_id)

    def snapshot(self, anon_id: str) -> Path:
        return self.snapshots / check_id(anon_id, "anonymous id")

    def view(self, agent_id: str) -> Path:
        return self.views / check_id(agent_id)

    def temp_dir(self, prefix: str) -> Path:
        """A new, not yet existing path in ``.tmp`` (same filesystem: renames are atomic)."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp / f"{prefix}-{secrets.token_hex(4)}"
