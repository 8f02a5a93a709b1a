"""Process and port helpers shared by the test areas (plain functions, not fixtures)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any


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


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid`` (read from /proc; zombies excluded)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while we looked
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(entry))
    return members


def wait_for_file(path: Path, proc: subprocess.Popen[Any], timeout: float = 120.0) -> str:
    """The text of ``path`` once it exists (written atomically by the process under test);
    fails early if ``proc`` ends first. Polls a file: an event, not a guess at a duration."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text()
        if proc.poll() is not None:
            raise AssertionError(f"the process ended (status {proc.returncode}) before {path}")
        time.sleep(0.02)
    raise AssertionError(f"{path} did not appear within {timeout:g}s")
