"""An exclusive inter-process lock on a file, cheap to import.

On POSIX it is ``fcntl.flock`` on the file, which is what ``filelock.UnixFileLock`` uses too,
so both kinds of lock exclude each other; the kernel releases it when the process dies, even by
``kill -9``. Elsewhere it falls back to ``filelock``. (``filelock`` itself costs tens of
milliseconds to import, which ``mgx tool sync --frozen`` cannot afford.)
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LockTimeout", "exclusive"]


class LockTimeout(Exception):
    """The lock stayed taken for the whole wait."""


@contextlib.contextmanager
def exclusive(path: Path, *, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the block."""
    try:
        import fcntl
    except ImportError:  # Windows
        from filelock import FileLock, Timeout

        try:
            with FileLock(str(path), timeout=timeout):
                yield
        except Timeout:
            raise LockTimeout(str(path)) from None
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(str(path)) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
