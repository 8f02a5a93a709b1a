"""No orphans: what mgx starts to work on its behalf dies with it, even on ``kill -9``.

Each child runs under ``marketplace/_leash.py`` in a process group of its own; the kernel
tells the supervisor when mgx dies (``PR_SET_PDEATHSIG``) and it kills the group. The
children here ignore the end of their stdin and would otherwise run for ten minutes, so a
survivor is caught; every wait is on an event (a file the child writes, a process ending).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from marketplace._process import LEASHED
from marketplace.lockfile import read_lock
from tests.helpers import alive, group_members, wait_dead, wait_for_file
from tests.lock.conftest import MGX, World, server_doc

pytestmark = pytest.mark.skipif(not LEASHED, reason="needs Linux (PR_SET_PDEATHSIG)")

STALLER = "io.github.test/staller"

# The bundled "server" (and the installer-like command below): starts a child of its own,
# reports both pids and its group, then never answers MCP and ignores stdin's end, so only a
# kill stops it.
STALLING_SERVER = """
import os, subprocess, sys, time
report = {report!r}
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(report + ".tmp", "w") as fh:
    fh.write(f"{{os.getpid()}} {{os.getpgid(0)}} {{child.pid}}")
os.replace(report + ".tmp", report)
time.sleep(600)
"""


def _publish_staller(world: World, report: Path) -> None:
    import hashlib
    import io
    import zipfile

    manifest = {
        "manifest_version": "0.2",
        "name": "staller",
        "version": "1.0.0",
        "server": {
            "type": "python",
            "entry_point": "server/main.py",
            "mcp_config": {"command": "python", "args": ["${__dirname}/server/main.py"]},
        },
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("server/main.py", STALLING_SERVER.format(report=str(report)))
    body = buf.getvalue()
    world.files.files["/staller.mcpb"] = body
    package = {
        "registryType": "mcpb",
        "identifier": world.files.url + "/staller.mcpb",
        "fileSha256": hashlib.sha256(body).hexdigest(),
        "transport": {"type": "stdio"},
    }
    world.docs.append(server_doc(STALLER, "1.0.0", [package], latest=True))
    world.serve()


def _assert_all_gone(pids: list[int], pgid: int) -> None:
    assert wait_dead(pids, timeout=30) == [], "a child of mgx outlived it"
    assert group_members(pgid) == [], f"processes of group {pgid} outlived mgx"


def test_kill_9_during_install_leaves_no_process(
    world: World, project_dir: Path, tmp_path: Path
) -> None:
    report = tmp_path / "server.pids"
    _publish_staller(world, report)
    mgx = subprocess.Popen(
        [*MGX, "tool", "install", "staller"],
        cwd=project_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # so that a failure below can still clean up after it
    )
    try:
        # The install's start check has launched the server, which started its own child.
        server, pgid, grandchild = map(int, wait_for_file(report, mgx).split())
        assert mgx.poll() is None and alive(server) and alive(grandchild)  # mid-install
        assert pgid != os.getpgid(0) and pgid != mgx.pid  # a group of its own
        mgx.send_signal(signal.SIGKILL)
        mgx.wait(60)
        _assert_all_gone([server, grandchild], pgid)
    finally:
        if mgx.poll() is None:
            mgx.kill()
            mgx.wait(10)
        for pid in _read_pids(report):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    # Nothing half-installed was recorded.
    lock_path = project_dir / "mgx.lock"
    assert not lock_path.exists() or STALLER not in read_lock(lock_path).tools


def _read_pids(report: Path) -> list[int]:
    if not report.exists():
        return []
    server, _, grandchild = map(int, report.read_text().split())
    return [server, grandchild]


# What the installers run (uv, npm, pip, docker) goes through ``_io.run``: here a command
# that starts a child of its own and reports both, run by a process that is then killed.
RUNNER = """
import sys
from marketplace.installers._io import run
run([sys.executable, "-c", sys.argv[1]], what="test command")
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_installer_commands_die_with_their_runner(tmp_path: Path, sig: signal.Signals) -> None:
    report = tmp_path / "worker.pids"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, STALLING_SERVER.format(report=str(report))],
        env=env,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        worker, pgid, grandchild = map(int, wait_for_file(report, runner).split())
        runner.send_signal(sig)
        runner.wait(60)
        _assert_all_gone([worker, grandchild], pgid)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(10)
        for pid in _read_pids(report):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_timed_out_command_is_stopped_with_its_children(tmp_path: Path) -> None:
    from marketplace._process import run

    report = tmp_path / "worker.pids"
    script = STALLING_SERVER.format(report=str(report))
    with pytest.raises(subprocess.TimeoutExpired):
        run([sys.executable, "-c", script], timeout=10)
    # The timeout only bounds the wait; what is asserted is that nothing is left afterwards (if
    # a very loaded machine did not let the command report in time, there is nothing to see).
    if report.exists():
        worker, pgid, grandchild = map(int, report.read_text().split())
        _assert_all_gone([worker, grandchild], pgid)


def test_exit_status_and_missing_programs_are_those_of_the_command() -> None:
    from marketplace._process import run

    done = run([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"])
    assert (done.returncode, done.stdout) == (3, "out\n")
    killed = run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"])
    assert killed.returncode == -signal.SIGTERM
    assert run(["cat"], input="through the leash").stdout == "through the leash"
    with pytest.raises(FileNotFoundError):
        run(["mgx-no-such-program"])
