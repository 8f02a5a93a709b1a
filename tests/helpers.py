"""Process and port helpers shared by the test areas (plain functions, not fixtures)."""

from __future__ import annotations

import os
import socket
import time


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie we failed to reap counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def wait_dead(pids: list[int], timeout: float = 15.0) -> list[int]:
    """Wait until every pid is gone; returns the ones still alive at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
