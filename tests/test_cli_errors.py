"""The CLI's error boundary: every failure is one line on stderr and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MGX = str(Path(sys.executable).with_name("mgx"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MGX_OFFLINE": "1"}
    return subprocess.run([MGX, *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("tool", "search", "--bogus"), 2, "No such option: --bogus"),
        (("tool", "install"), 2, "Missing argument"),
        (("tool", "search", "time", "--limit", "x"), 2, "--limit"),
        (("nope",), 2, "No such command 'nope'"),
        (("tool", "info", "no/such"), 2, "no server named 'no/such'"),
    ],
)
def test_errors_are_one_line_with_exit_code(args: tuple[str, ...], code: int, says: str) -> None:
    done = run(*args)
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("mgx: error: ") and says in lines[0]
    assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback() -> None:
    done = run("--debug", "tool", "info", "no/such")
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "NotFoundError" in done.stderr
