"""Which projects use which installed tool directories, so removal never breaks another project.

Installs are shared: a tool directory is named after the digest of its contents, and two
projects locking the same package use the same directory. Each project records the directories
it uses in ``state_dir/tool-refs/<project-id>.json``. A project adds a directory *before*
installing into it and drops it only *after* its lock no longer names it; a directory is
deleted when no project's record names it. A crash can only leave a record naming too much
(disk not yet reclaimed), never too little, and the project's next mutating command settles
its record against its lock. All record updates and deletions happen under one file lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from marketplace._fs import atomic_write
from marketplace.errors import InstallError
from marketplace.settings import Settings

__all__ = ["hold", "settle"]


def _dir(settings: Settings) -> Path:
    return settings.state_dir / "tool-refs"


def _record(settings: Settings, root: Path) -> Path:
    key = hashlib.sha256(str(root).encode()).hexdigest()[:24]
    return _dir(settings) / f"{key}.json"


@contextlib.contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    from marketplace._flock import LockTimeout, exclusive

    directory = _dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with exclusive(directory / ".lock", timeout=120):
            yield
    except LockTimeout:
        raise InstallError(
            f"{directory} stayed locked for 2 minutes; is another mgx stuck?"
        ) from None


def _load(path: Path) -> tuple[str, set[str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return str(data["project"]), {str(d) for d in data["dirs"]}
    except (OSError, ValueError, KeyError, TypeError):
        return "", set()


def _save(settings: Settings, root: Path, dirs: set[str]) -> None:
    data = {"project": str(root), "dirs": sorted(dirs)}
    atomic_write(_record(settings, root), json.dumps(data, indent=1) + "\n")


def hold(settings: Settings, root: Path, dirs: Iterable[str]) -> None:
    """Add ``dirs`` (tool directory names) to the project's record, before installing them."""
    with _locked(settings):
        path = _record(settings, root)
        _, current = _load(path)
        wanted = current | set(dirs)
        if wanted != current or not path.exists():
            _save(settings, root, wanted)


def settle(settings: Settings, root: Path, keep: Iterable[str]) -> list[str]:
    """Make the project's record exactly ``keep`` and delete directories nobody uses any more.

    Only directories the project's record named before are candidates: mgx never deletes a
    tool directory it cannot account for. Returns the names deleted.
    """
    keep = set(keep)
    deleted: list[str] = []
    with _locked(settings):
        path = _record(settings, root)
        _, before = _load(path)
        if before != keep or not path.exists():
            _save(settings, root, keep)
        candidates = before - keep
        if not candidates:
            return deleted
        used: set[str] = set()
        for other in _dir(settings).glob("*.json"):
            if other == path:
                continue
            project, dirs = _load(other)
            if (
                project
                and not (Path(project) / "mgx.lock").exists()
                and not (Path(project) / ".mgx").exists()
            ):
                other.unlink(missing_ok=True)  # the project is gone: its record is stale
                continue
            used |= dirs
        for name in sorted(candidates - used):
            if _discard(settings, settings.tools_dir / name):
                deleted.append(name)
    return deleted


def _discard(settings: Settings, path: Path) -> bool:
    """Remove ``path`` at once (one rename into staging, where leftovers get cleaned)."""
    if not path.exists() or path.parent != settings.tools_dir or path.name in ("", ".", ".."):
        return False
    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    trash = settings.staging_dir / f"trash-{secrets.token_hex(8)}"
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return False
    shutil.rmtree(trash, ignore_errors=True)
    return True
