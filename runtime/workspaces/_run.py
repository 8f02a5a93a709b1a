"""``RunWorkspaces``: the one object the orchestrator talks to about files during a run."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.workspaces._context import (
    ContextChange,
    ContextPath,
    apply_changes,
    context_changes,
    validate_context_paths,
)
from runtime.workspaces._copy import Limits, TreeStats, copy_tree, measure_tree, remove_tree
from runtime.workspaces._errors import WorkspaceConfigError, WorkspaceError
from runtime.workspaces._fs_server import AgentAccess, Phase
from runtime.workspaces._layout import RunLayout, check_id
from runtime.workspaces._paths import is_within
from runtime.workspaces._snapshots import build_view, restore_snapshot, take_snapshot

__all__ = ["RunWorkspaces", "SnapshotInfo", "WorkspaceResult", "check_output_dir"]


@dataclass(frozen=True, kw_only=True)
class SnapshotInfo:
    """One snapshot taken on ``new_answer``."""

    agent_id: str
    anon_id: str
    path: Path
    files: int
    bytes: int
    method: str  # clone, copy (or empty for an empty workspace)
    reused: int = 0  # files unchanged since the agent's last snapshot, linked from it
    skipped: tuple[str, ...] = ()  # symlinks and special files left out


@dataclass(frozen=True, kw_only=True)
class WorkspaceResult:
    """What a run's files came to: for ``--json`` and the live view."""

    final_workspace: Path | None
    output: Path | None
    run_dir: Path
    kept: bool
    context_writes: tuple[ContextChange, ...] = ()
    dry_run_writes: bool = False
    skipped: tuple[str, ...] = ()  # symlinks/special files of the final workspace not copied

    def to_json(self) -> dict[str, Any]:
        return {
            "final_workspace": str(self.final_workspace) if self.final_workspace else None,
            "output": str(self.output) if self.output else None,
            "run_dir": str(self.run_dir),
            "kept": self.kept,
            "dry_run_writes": self.dry_run_writes,
            "context_writes": [c.to_json() for c in self.context_writes],
            "skipped": list(self.skipped),
        }


def check_output_dir(output: Path) -> Path:
    """Validate ``--output`` before the run: absent (its parent existing) or an empty directory."""
    resolved = Path(os.path.abspath(os.path.expanduser(output)))
    if resolved.exists():
        if not resolved.is_dir():
            raise WorkspaceConfigError(f"--output {output}: exists and is not a directory")
        if any(resolved.iterdir()):
            raise WorkspaceConfigError(f"--output {output}: directory is not empty")
    elif not resolved.parent.is_dir():
        raise WorkspaceConfigError(f"--output {output}: {resolved.parent} does not exist")
    return resolved


@dataclass(kw_only=True)
class _State:
    anon: dict[str, str] = field(default_factory=dict)  # agent id -> anon id of its snapshot
    last: dict[str, TreeStats] = field(default_factory=dict)  # agent id -> its last snapshot
    presenter: str | None = None
    staged: dict[int, Path] = field(default_factory=dict)  # context index -> staging copy
    finished: bool = False


class RunWorkspaces:
    """Per-agent workspaces, snapshots, views, context paths and the final output of one run.

    ``workspace_agents`` are the agents with a workspace (MassGen ``cwd``); others get only
    read access (context paths, earlier turns). ``session_dirs`` are earlier turns' final
    workspaces, read-only for everyone. ``defer_cleanup`` makes ``finish`` only set the
    temporary trees aside (renames) so the result can be shown first; ``purge()`` deletes
    them. Creating the object makes the directories; nothing else is written until the
    orchestrator calls a method.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        workspace_agents: Sequence[str],
        context_paths: Sequence[ContextPath] = (),
        session_dirs: Sequence[Path] = (),
        limits: Limits | None = None,
        dry_run_writes: bool = False,
        defer_cleanup: bool = False,
    ) -> None:
        self.layout = RunLayout(run_dir.resolve())
        self.agents = tuple(check_id(a) for a in workspace_agents)
        if len(set(self.agents)) != len(self.agents):
            raise WorkspaceConfigError("two agents share one id; workspaces need distinct ids")
        self.context_paths = tuple(context_paths)
        for cp in self.context_paths:  # also when built by hand, not by validate_context_paths
            if is_within(cp.path, self.layout.root) or is_within(self.layout.root, cp.path):
                raise WorkspaceConfigError(
                    f"context path {cp.path} overlaps the run directory {self.layout.root}"
                )
        self.session_dirs = tuple(p.resolve() for p in session_dirs)
        self.limits = limits if limits is not None else Limits()
        self.dry_run_writes = dry_run_writes
        self.defer_cleanup = defer_cleanup
        self._trash: list[Path] = []
        self._state = _State()
        # The orchestrator may call from worker threads (these calls copy files: run them
        # with asyncio.to_thread); one lock keeps a view from being built mid-swap.
        self._lock = threading.RLock()
        for path in (self.layout.workspaces, self.layout.snapshots, self.layout.views):
            path.mkdir(parents=True, exist_ok=True)
        for agent in self.agents:
            self.layout.workspace(agent).mkdir(exist_ok=True)

    @classmethod
    def from_config(
        cls,
        run_dir: Path,
        *,
        workspace_agents: Sequence[str],
        context_paths: Sequence[Any] | None,
        base: Path,
        session_dirs: Sequence[Path] = (),
        limits: Limits | None = None,
        dry_run_writes: bool = False,
        defer_cleanup: bool = False,
    ) -> RunWorkspaces:
        """Validate raw ``context_paths`` entries (relative to ``base``) and build the run.

        Every error is a one-line ``WorkspaceConfigError`` raised before any directory exists.
        """
        validated = validate_context_paths(
            context_paths, base=base, reserved=[run_dir.resolve(), *session_dirs]
        )
        if dry_run_writes and not any(c.permission == "write" for c in validated):
            raise WorkspaceConfigError("--dry-run-writes needs a context path with 'write'")
        return cls(
            run_dir,
            workspace_agents=workspace_agents,
            context_paths=validated,
            session_dirs=session_dirs,
            limits=limits,
            dry_run_writes=dry_run_writes,
            defer_cleanup=defer_cleanup,
        )

    # --- what an agent may reach ---------------------------------------------------------
    def workspace(self, agent_id: str) -> Path | None:
        """The agent's own workspace, or None if it has none."""
        return self.layout.workspace(agent_id) if agent_id in self.agents else None

    def access(self, agent_id: str, phase: Phase) -> AgentAccess:
        """Which directories ``agent_id`` may write and read in ``phase``.

        Coordination: its workspace (write); its view of the others' snapshots, every
        context path and earlier turns' workspaces (read). Presentation (the presenter only):
        its workspace and staging copies of ``write`` context paths (write); its view,
        ``read`` context paths and earlier workspaces (read).
        """
        presenting = phase == "presentation"
        if presenting and agent_id != self._state.presenter:
            raise WorkspaceError(f"{agent_id} is not the presenter; call prepare_presenter first")
        labels: dict[Path, str] = {}
        write: list[Path] = []
        read: list[Path] = []
        own = self.workspace(agent_id)
        if own is not None:
            write.append(own)
            labels[own] = "your workspace"
        view = self.layout.view(agent_id)
        if not view.is_dir() and self.agents:
            # First use: the snapshots so far (maybe none). Always granted in a run with
            # workspaces, so one file server per agent serves the whole coordination phase:
            # view_for rebuilds it in place at each restart.
            self.view_for(agent_id)
        if view.is_dir():
            read.append(view)
            labels[view] = "the other agents' workspaces at their latest answers, by anonymous id"
        for index, cp in enumerate(self.context_paths):
            if presenting and cp.permission == "write":
                staged = self._state.staged[index]
                write.append(staged)
                labels[staged] = f"context path {cp.path} (your changes are applied at the end)"
            else:
                read.append(cp.path)
                labels[cp.path] = "context path"
        for number, path in enumerate(self.session_dirs, 1):
            read.append(path)
            labels[path] = f"final workspace of earlier turn {number}"
        return AgentAccess(
            agent_id=agent_id,
            phase=phase,
            write_dirs=tuple(write),
            read_dirs=tuple(read),
            labels=labels,
        )

    def allowed_dirs(self, agent_id: str, phase: Phase) -> list[Path]:
        """The directories the agent's filesystem server is started with."""
        return self.access(agent_id, phase).allowed_dirs

    # --- coordination --------------------------------------------------------------------
    def on_new_answer(self, agent_id: str, anon_id: str) -> SnapshotInfo | None:
        """Snapshot the agent's workspace under ``anon_id`` (None: the agent has no workspace).

        ``WorkspaceLimitError`` (a tool error for the agent) when the workspace is over its
        limits; the previous snapshot then stays.
        """
        with self._lock:
            return self._on_new_answer(agent_id, anon_id)

    def _on_new_answer(self, agent_id: str, anon_id: str) -> SnapshotInfo | None:
        own = self.workspace(agent_id)
        if own is None:
            return None
        check_id(anon_id, "anonymous id")
        holder = next((a for a, n in self._state.anon.items() if n == anon_id), None)
        if holder is not None and holder != agent_id:
            raise WorkspaceError(f"anonymous id {anon_id} already belongs to another agent")
        previous = self._state.last.get(agent_id) if holder == agent_id else None
        old_anon = self._state.anon.get(agent_id)
        if old_anon is not None and old_anon != anon_id:  # renamed: the old one is stale
            remove_tree(self.layout.snapshot(old_anon))
        stats: TreeStats = take_snapshot(
            self.layout,
            own,
            anon_id,
            limits=self.limits,
            label=f"workspace of {agent_id}",
            previous=previous,
        )
        self._state.anon[agent_id] = anon_id
        self._state.last[agent_id] = stats
        return SnapshotInfo(
            agent_id=agent_id,
            anon_id=anon_id,
            path=self.layout.snapshot(anon_id),
            files=stats.files,
            bytes=stats.bytes,
            method=stats.method,
            reused=stats.reused,
            skipped=tuple(stats.skipped),
        )

    def view_for(self, agent_id: str) -> Path:
        """(Re)build ``agent_id``'s read-only view of the others' current snapshots.

        Call when the agent (re)starts: it then sees every snapshot taken so far but its own,
        under the anonymous ids, read-only.
        """
        with self._lock:
            return self._view_for(agent_id)

    def _view_for(self, agent_id: str) -> Path:
        others = {
            anon: self.layout.snapshot(anon)
            for agent, anon in self._state.anon.items()
            if agent != agent_id
        }
        return build_view(self.layout, agent_id, others)

    # --- presentation --------------------------------------------------------------------
    def prepare_presenter(self, winner_id: str, presenter_id: str) -> AgentAccess:
        """Restore the winner's snapshot into the presenter's workspace, stage the ``write``
        context paths, rebuild the presenter's view; returns its presentation access."""
        with self._lock:
            return self._prepare_presenter(winner_id, presenter_id)

    def _prepare_presenter(self, winner_id: str, presenter_id: str) -> AgentAccess:
        check_id(presenter_id)
        if presenter_id not in self.agents and self.agents:
            # The winner's files need a home even if the presenter was not given a workspace.
            self.agents = (*self.agents, presenter_id)
            self.layout.workspace(presenter_id).mkdir(exist_ok=True)
        self._state.presenter = presenter_id
        anon = self._state.anon.get(winner_id)
        workspace = self.workspace(presenter_id)
        if anon is not None and workspace is not None:
            restore_snapshot(
                self.layout,
                self.layout.snapshot(anon),
                workspace,
                limits=self.limits,
                label=f"snapshot of {winner_id}",
            )
        for index, cp in enumerate(self.context_paths):
            if cp.permission == "write" and index not in self._state.staged:
                staged = self.layout.context / f"{index}-{_safe(cp.path.name)}"
                remove_tree(staged)
                self.layout.context.mkdir(parents=True, exist_ok=True)
                copy_tree(cp.path, staged, label=f"context path {cp.path}")
                self._state.staged[index] = staged
        self.view_for(presenter_id)
        return self.access(presenter_id, "presentation")

    # --- the end -------------------------------------------------------------------------
    def finish(self, output: Path | None = None, *, keep: bool = False) -> WorkspaceResult:
        """End the run's file work: check the final workspace's limits, apply (or, with
        ``dry_run_writes``, only diff) the presenter's context writes, copy the final
        workspace to ``output``, and remove the temporary trees unless ``keep``.

        Without ``output`` the presenter's workspace stays in the run directory as the final
        workspace; with ``output`` (and no ``keep``) the whole run directory goes.
        """
        with self._lock:
            return self._finish(output, keep=keep)

    def _finish(self, output: Path | None = None, *, keep: bool = False) -> WorkspaceResult:
        if self._state.finished:
            raise WorkspaceError("finish() was already called for this run")
        presenter = self._state.presenter
        final = self.workspace(presenter) if presenter else None
        if output is not None and final is None:
            raise WorkspaceConfigError(
                "--output: this run has no final workspace (no agent has a workspace, or no "
                "presenter was prepared)"
            )
        if final is not None:  # before anything is written: finish(keep=True) may follow
            measure_tree(final, limits=self.limits, label=f"final workspace of {presenter}")
        self._state.finished = True
        changes: list[ContextChange] = []
        for index, staged in sorted(self._state.staged.items()):
            original = self.context_paths[index].path
            found = context_changes(original, staged)
            changes += found if self.dry_run_writes else apply_changes(original, staged, found)
        out_path: Path | None = None
        skipped: tuple[str, ...] = ()
        if output is not None and final is not None:
            out_path, skipped = _copy_out(final, check_output_dir(output))
        if not keep:
            self._cleanup(keep_final=out_path is None)
        result_final = out_path or final
        return WorkspaceResult(
            final_workspace=result_final,
            output=out_path,
            run_dir=self.layout.root,
            kept=keep,
            context_writes=tuple(changes),
            dry_run_writes=self.dry_run_writes,
            skipped=skipped,
        )

    def _cleanup(self, *, keep_final: bool) -> None:
        """Move the temporary trees out of sight (renames: instant), then delete them now,
        or in ``purge()`` when ``defer_cleanup`` (deleting thousands of files is the slow
        part of a run's end; a caller can show the result first)."""
        presenter = self._state.presenter
        doomed: list[Path] = []
        if not keep_final:
            doomed.append(self.layout.root)
        else:
            doomed += [self.layout.snapshots, self.layout.views, self.layout.context]
            doomed += [self.layout.workspace(a) for a in self.agents if a != presenter]
            doomed.append(self.layout.tmp)
        root = self.layout.root
        for path in doomed:
            if not os.path.lexists(path):
                continue
            trash = root.parent / f".{root.name}.trash-{len(self._trash)}-{os.getpid()}"
            os.rename(path, trash)
            self._trash.append(trash)
        if not self.defer_cleanup:
            self.purge()

    def purge(self) -> None:
        """Delete what ``finish`` set aside (a no-op unless ``defer_cleanup``)."""
        with self._lock:
            while self._trash:
                remove_tree(self._trash.pop())


def _copy_out(final: Path, output: Path) -> tuple[Path, tuple[str, ...]]:
    """Copy ``final`` to ``output``: built beside it, then renamed into place."""
    tmp = output.parent / f".{output.name}.mgx-tmp-{os.getpid()}"
    remove_tree(tmp)
    try:
        stats = copy_tree(final, tmp, label="final workspace")
        if output.exists():
            output.rmdir()  # checked empty by check_output_dir
        os.rename(tmp, output)
    except BaseException:
        remove_tree(tmp)
        raise
    return output, tuple(stats.skipped)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:48] or "root"
