"""Project transactions: one writer at a time, and ``mgx.toml`` + ``mgx.lock`` change together.

Every mutating command runs inside ``Transaction(project)``:

1. it takes the project's file lock (``.mgx/lock``; an OS lock, so ``kill -9`` releases it) and
   waits for another mgx working on the same project;
2. it finishes an interrupted commit, if a journal is left (see below), and removes staging
   debris of killed installs;
3. the command installs what it needs (each install is staged and renamed into place by the
   installers, so a killed install never looks installed) and then calls :meth:`commit`.

Two files cannot be replaced in one atomic step, so :meth:`commit` first writes a *journal*
(``.mgx/journal.json``: the complete new text of both files, itself written atomically), then
replaces the manifest, then the lock, then deletes the journal. A crash before the journal
exists leaves the previous files untouched; a crash after it is rolled forward by the next
mgx command, which rewrites both files from the journal. Readers that only need the lock (the
runtime) always see a complete lock whose tools are installed: old installs are removed only
after the new lock is in place.

``MGX_TEST_CRASH_AT=<point>`` makes the process ``SIGKILL`` itself at a named point, so tests
and benchmarks can interrupt real runs exactly where it matters.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from marketplace._fs import atomic_write, fsync_dir
from marketplace.errors import ConfigError, LockError

if TYPE_CHECKING:
    from marketplace.project import Project

__all__ = ["CRASH_ENV", "CRASH_POINTS", "Transaction", "crash_point", "recover"]

CRASH_ENV = "MGX_TEST_CRASH_AT"
# Where the test hook can kill a run, in the order an install passes them.
CRASH_POINTS = (
    "locked",  # project lock taken, nothing done
    "resolved",  # new lock data computed (network done), nothing installed
    "installed",  # new package directories renamed into place, not yet referenced by the lock
    "checked",  # the MCP check passed
    "journal-written",  # the commit journal is durable; files not yet replaced
    "manifest-written",  # mgx.toml replaced, mgx.lock not yet
    "lock-written",  # mgx.lock replaced, journal still there
    "committed",  # journal deleted, old installs not yet removed
    "collected",  # old installs removed
)
LOCK_WAIT_S = 15 * 60.0  # an install may legitimately take minutes; wait for it, not forever
JOURNAL = "journal.json"


def crash_point(name: str) -> None:
    """Kill this process (SIGKILL, no cleanup) when ``MGX_TEST_CRASH_AT`` names ``name``."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _digest(text: str | None) -> str:
    return "" if text is None else hashlib.sha256(text.encode()).hexdigest()


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def state_dir(project: Project) -> Path:
    """``.mgx/`` beside the manifest: lock and journal (ignored by git via its own .gitignore)."""
    directory = project.root / ".mgx"
    if not directory.is_dir():
        directory.mkdir(parents=True, exist_ok=True)
        ignore = directory / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# mgx's working files (lock, journal)\n*\n", encoding="utf-8")
    return directory


def pending_journal(project: Project) -> bool:
    return (project.root / ".mgx" / JOURNAL).exists()


def recover(project: Project) -> bool:
    """Roll an interrupted commit forward; the caller holds the project lock.

    Returns whether there was one. When the user edited ``mgx.toml`` after the crash (it is
    neither the old nor the new text), their version is kept and only the lock is restored.
    """
    journal = project.root / ".mgx" / JOURNAL
    text = _read(journal)
    if text is None:
        return False
    try:
        data = json.loads(text)
        manifest_new = data["manifest"]
        lock_new = data["lock"]
        manifest_old = data.get("manifest_before", "")
    except (ValueError, KeyError, TypeError):
        # The journal is written atomically, so this is not a torn write: someone edited it.
        journal.unlink(missing_ok=True)
        raise LockError(
            f"{journal} is unreadable and was removed; check mgx.toml and mgx.lock, then run "
            "`mgx tool sync`"
        ) from None
    if manifest_new is not None:
        current = _digest(_read(project.manifest_path))
        if current in (manifest_old, _digest(manifest_new)) and current != _digest(manifest_new):
            atomic_write(project.manifest_path, manifest_new)
    if _read(project.lock_path) != lock_new:
        atomic_write(project.lock_path, lock_new)
    journal.unlink(missing_ok=True)
    fsync_dir(journal.parent)
    return True


class Transaction:
    """Exclusive, crash-safe changes to one project (see the module docstring)."""

    def __init__(self, project: Project, *, wait_s: float = LOCK_WAIT_S) -> None:
        self.project = project
        self.wait_s = wait_s
        self.recovered = False
        self._lock: contextlib.ExitStack | None = None

    def __enter__(self) -> Transaction:
        from marketplace._flock import LockTimeout, exclusive

        directory = state_dir(self.project)
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(exclusive(directory / "lock", timeout=self.wait_s))
        except LockTimeout:
            raise ConfigError(
                f"another mgx is changing {self.project.root} (waited {self.wait_s:g}s); "
                "try again when it has finished"
            ) from None
        self._lock = stack
        try:
            self.recovered = recover(self.project)
            staging = self.project.settings.staging_dir
            if staging.is_dir() and any(staging.iterdir()):
                from marketplace.installers import cleanup_staging

                cleanup_staging(self.project.settings)
        except BaseException:
            self._release()
            raise
        crash_point("locked")
        return self

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release()

    def commit(self, *, manifest: str | None, lock: str) -> None:
        """Replace ``mgx.toml`` (unless ``manifest`` is None) and ``mgx.lock`` as one change."""
        if self._lock is None:
            raise RuntimeError("Transaction.commit outside the transaction")
        project = self.project
        before = _read(project.manifest_path)
        if manifest == before:
            manifest = None  # nothing to change there
        journal = state_dir(project) / JOURNAL
        payload = {"manifest": manifest, "manifest_before": _digest(before), "lock": lock}
        atomic_write(journal, json.dumps(payload, ensure_ascii=False))
        crash_point("journal-written")
        if manifest is not None:
            atomic_write(project.manifest_path, manifest)
        crash_point("manifest-written")
        atomic_write(project.lock_path, lock)
        crash_point("lock-written")
        journal.unlink()
        fsync_dir(journal.parent)
        crash_point("committed")
