"""Snapshots (workspace → ``snapshots/<anon>``), views (snapshots → ``views/<agent>/``) and
restores (snapshot → presenter's workspace), each built aside then renamed into place.

A reader (another agent's file tool) sees the old tree or the new one, never a half-copied
one: the copy is made in ``.tmp`` on the same filesystem and swapped in by ``rename``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from runtime.workspaces._copy import (
    READ_ONLY_DIR,
    Limits,
    Reuse,
    TreeStats,
    copy_tree,
    remove_tree,
)
from runtime.workspaces._layout import RunLayout

__all__ = ["build_view", "restore_snapshot", "swap_in", "take_snapshot"]


def swap_in(new: Path, target: Path, layout: RunLayout) -> None:
    """Put the complete tree ``new`` at ``target``, replacing what was there."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old: Path | None = None
    if os.path.lexists(target):
        old = layout.temp_dir("old")
        os.rename(target, old)
    os.rename(new, target)
    if old is not None:
        remove_tree(old)


def take_snapshot(
    layout: RunLayout,
    workspace: Path,
    anon_id: str,
    *,
    limits: Limits | None,
    label: str,
    previous: TreeStats | None = None,
) -> TreeStats:
    """Copy ``workspace`` to ``snapshots/<anon_id>`` (read-only), replacing the last one.

    ``previous`` (what the last snapshot of this workspace returned) makes it incremental:
    files unchanged since are hard-linked from that snapshot, which is immutable.
    ``WorkspaceLimitError`` when the workspace is over ``limits``: the old snapshot stays.
    """
    target = layout.snapshot(anon_id)
    reuse = Reuse(tree=target, index=previous.index) if previous and target.is_dir() else None
    tmp = layout.temp_dir(f"snap-{anon_id}")
    try:
        stats = copy_tree(workspace, tmp, read_only=True, limits=limits, label=label, reuse=reuse)
        swap_in(tmp, layout.snapshot(anon_id), layout)
    except BaseException:
        remove_tree(tmp)
        raise
    return stats


def build_view(layout: RunLayout, agent_id: str, snapshots: Mapping[str, Path]) -> Path:
    """(Re)build ``views/<agent_id>`` holding ``snapshots`` (anon id → snapshot dir), read-only.

    Files are hard-linked from the immutable snapshots where the filesystem allows.
    """
    tmp = layout.temp_dir(f"view-{agent_id}")
    try:
        tmp.mkdir(mode=0o755)
        for anon_id, snapshot in sorted(snapshots.items()):
            copy_tree(snapshot, tmp / anon_id, how="link", read_only=True)
        os.chmod(tmp, READ_ONLY_DIR)
        swap_in(tmp, layout.view(agent_id), layout)
    except BaseException:
        remove_tree(tmp)
        raise
    return layout.view(agent_id)


def restore_snapshot(
    layout: RunLayout, snapshot: Path, workspace: Path, *, limits: Limits | None, label: str
) -> TreeStats:
    """Replace ``workspace`` by a writable copy of ``snapshot``."""
    tmp = layout.temp_dir("restore")
    try:
        stats = copy_tree(snapshot, tmp, limits=limits, label=label)
        swap_in(tmp, workspace, layout)
    except BaseException:
        remove_tree(tmp)
        raise
    return stats
