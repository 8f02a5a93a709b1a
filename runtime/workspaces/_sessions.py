"""Multi-turn sessions: ``mgx run --session NAME`` continues an earlier run.

Layout under ``<state_dir>/sessions/<name>/``::

    turn_0001.json        one file per turn (task, final answer, workspace path, times),
                          written atomically
    turn_0001/workspace/  the turn's final workspace, copied in and read-only
    .lock                 held while a turn is recorded (turn numbers never collide)

The next turn's agents get the earlier tasks and answers as text, and the earlier final
workspaces read-only (MassGen's ``turn_N/workspace``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marketplace._flock import LockTimeout, exclusive
from marketplace._fs import atomic_write
from marketplace.settings import Settings
from runtime.workspaces._copy import copy_tree, remove_tree
from runtime.workspaces._errors import WorkspaceConfigError, WorkspaceError
from runtime.workspaces._layout import check_id

__all__ = ["SessionContext", "SessionStore", "Turn"]


@dataclass(frozen=True, kw_only=True)
class Turn:
    """One recorded turn of a session."""

    number: int
    task: str
    answer: str
    workspace: str | None  # the turn's final workspace (read-only copy), if it had one
    started_at: float
    finished_at: float
    winner: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "turn": self.number,
            "task": self.task,
            "answer": self.answer,
            "workspace": self.workspace,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "winner": self.winner,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Turn:
        return cls(
            number=int(data["turn"]),
            task=str(data["task"]),
            answer=str(data["answer"]),
            workspace=data.get("workspace"),
            started_at=float(data.get("started_at", 0.0)),
            finished_at=float(data.get("finished_at", 0.0)),
            winner=data.get("winner"),
        )


@dataclass(frozen=True, kw_only=True)
class SessionContext:
    """What the agents of the next turn are given."""

    turns: tuple[Turn, ...]
    read_only_dirs: tuple[Path, ...]  # earlier final workspaces, newest last

    def prompt(self) -> str:
        """The earlier turns as text for the agents' system prompt ('' for a new session)."""
        if not self.turns:
            return ""
        parts = ["This task continues a session. Earlier turns, oldest first:"]
        for turn in self.turns:
            parts.append(
                f"\n## Turn {turn.number}\nTask: {turn.task}\nFinal answer:\n{turn.answer}"
            )
            if turn.workspace:
                parts.append(f"Final workspace (read-only): {turn.workspace}")
        return "\n".join(parts)


class SessionStore:
    """Reads and records the turns of named sessions in mgx's state directory."""

    def __init__(self, settings: Settings) -> None:
        self.root = settings.state_dir / "sessions"

    def _dir(self, name: str) -> Path:
        return self.root / check_id(name, "session name")

    def names(self) -> list[str]:
        """Every session that has at least one turn."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if any(p.glob("turn_*.json")))

    def turns(self, name: str) -> list[Turn]:
        """The turns of ``name``, oldest first (an unknown session has none)."""
        directory = self._dir(name)
        out: list[Turn] = []
        for path in sorted(directory.glob("turn_*.json")):
            try:
                out.append(Turn.from_json(json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise WorkspaceError(f"session {name}: damaged turn file {path}: {exc}") from exc
        return out

    def context(self, name: str) -> SessionContext:
        """The earlier turns and their workspaces, for the agents of the next turn."""
        turns = self.turns(name)
        dirs = tuple(Path(t.workspace) for t in turns if t.workspace and Path(t.workspace).is_dir())
        return SessionContext(turns=tuple(turns), read_only_dirs=dirs)

    def record(
        self,
        name: str,
        *,
        task: str,
        answer: str,
        workspace: Path | None,
        started_at: float,
        winner: str | None = None,
    ) -> Turn:
        """Append a turn: copy ``workspace`` in (read-only), then write ``turn_N.json``.

        The JSON is written last and atomically, so a crash leaves either no turn or a
        complete one (an orphaned ``turn_N/`` is replaced by the next attempt).
        """
        directory = self._dir(name)
        directory.mkdir(parents=True, exist_ok=True)
        try:
            with exclusive(directory / ".lock", timeout=30):
                number = len(list(directory.glob("turn_*.json"))) + 1
                kept: str | None = None
                if workspace is not None:
                    turn_dir = directory / f"turn_{number:04d}"
                    remove_tree(turn_dir)  # left over from an attempt that crashed
                    turn_dir.mkdir()
                    tmp = turn_dir / ".workspace.tmp"
                    copy_tree(workspace, tmp, read_only=True, label=f"turn {number} workspace")
                    os.rename(tmp, turn_dir / "workspace")
                    kept = str(turn_dir / "workspace")
                turn = Turn(
                    number=number,
                    task=task,
                    answer=answer,
                    workspace=kept,
                    started_at=started_at,
                    finished_at=time.time(),
                    winner=winner,
                )
                atomic_write(
                    directory / f"turn_{number:04d}.json",
                    json.dumps(turn.to_json(), indent=2, ensure_ascii=False) + "\n",
                )
                return turn
        except LockTimeout:
            raise WorkspaceConfigError(
                f"session {name} is busy (another turn is running)"
            ) from None

    def remove(self, name: str) -> bool:
        """Delete a session and its kept workspaces; False if it did not exist."""
        directory = self._dir(name)
        if not directory.exists():
            return False
        remove_tree(directory)
        return True
