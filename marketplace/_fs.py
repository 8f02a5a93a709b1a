"""Atomic file replacement, the one implementation every mgx writer uses.

A temp file in the same directory is written, fsynced and ``os.replace``-d over the target,
then the directory is fsynced: a reader (or a crash) sees the old file or the new one, never a
mix, and the rename survives a power cut. ``runtime/`` uses it too (it may import
``marketplace``); ``registry_cache`` keeps its own, since it may import neither.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["atomic_write", "fsync_dir"]


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (best effort where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``text``: temp file in the same directory, fsync, rename, fsync dir.

    ``mode`` is set before any byte is written (so a secret is never readable by others, even
    for a moment); without it the file keeps the mode of the one it replaces, or a new one gets
    the usual umask-derived mode (mkstemp alone would make every file 0600).
    """
    import tempfile  # lazily: registries.py is on the `mgx tool search` path, kept light

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode is None:
            try:
                mode = os.stat(path).st_mode & 0o7777
            except FileNotFoundError:
                mode = 0o666 & ~_umask()
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
