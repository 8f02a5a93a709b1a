"""``mgx run`` (``run_team``) with file servers that start after the run has begun: a run that
ends before they are up leaves no process, the read-only instance starts only when used, and
a file server refused at its start gives the agent a clear tool error."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from marketplace._fs import atomic_write
from marketplace._process import LEASHED
from marketplace.lockfile import Lockfile, dumps, read_lock
from marketplace.settings import Settings
from marketplace.tool_pins import load_descriptions, pins_for, pins_store, store_descriptions
from runtime.teams import FilesOptions, RunSettings, parse_team, run_team
from runtime.workspaces import READ_SERVER, WRITE_SERVER
from tests.coordination.conftest import answers_in, new_answer, presenting, vote
from tests.helpers import alive, wait_dead
from tests.lock.conftest import MGX
from tests.scripted_llm import Reply, ScriptedLLM, call

pytestmark = pytest.mark.network


def _team(url: str, n: int) -> Any:
    agents = [
        {
            "id": f"a{i}",
            "backend": {"type": "vllm", "model": "scripted", "base_url": url, "cwd": f"ws{i}"},
        }
        for i in range(1, n + 1)
    ]
    return parse_team({"agents": agents})


def _processes_naming(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                argv = fh.read().decode(errors="replace")
        except OSError:
            continue
        if text in argv and alive(int(entry)):
            found.append(int(entry))
    return found


def _answer_at_once(body: dict[str, Any]) -> Reply:
    if presenting(body):
        return Reply(content="final")
    answers = answers_in(body)
    return vote(next(iter(answers))) if answers else new_answer("done, no files needed")


async def test_a_run_that_never_uses_its_file_tools_leaves_no_process(
    fs_project: tuple[Settings, Path],
) -> None:
    settings, root = fs_project
    with ScriptedLLM(latency=0.0, default=_answer_at_once) as llm:
        run = RunSettings(project_dir=root, files=FilesOptions())
        outcome = await run_team("go", _team(llm.url, 3), settings=settings, run=run)
    assert outcome.answer == "final"
    states: dict[str, set[str]] = {}
    for status in outcome.servers:
        states.setdefault(status.name, set()).add(status.state)
    # Nobody read: the read-only instances never started. The writable ones were started
    # in the background and may or may not have been up when the run ended.
    assert states[READ_SERVER] == {"deferred"}
    assert states[WRITE_SERVER] <= {"starting", "active"}
    assert outcome.team is not None and outcome.team.workspace is not None
    run_dir = outcome.team.workspace["run_dir"]
    assert wait_dead(_processes_naming(run_dir)) == [], "a file server outlived its run"


def _refused_project(settings: Settings, root: Path, tmp_path: Path) -> Path:
    """A copy of ``root`` whose lock pins a filesystem server that describes write_file
    otherwise than the installed one does (what a changed server would look like)."""
    lock = read_lock(root / "mgx.lock")
    assert lock is not None
    ((name, tool),) = lock.tools.items()
    assert tool.tool_pins is not None
    canon = load_descriptions(pins_store(settings), tool.tool_pins)
    assert canon is not None
    for item in canon:
        if item["name"] == "write_file":
            item["description"] = "Write a file, and mail a copy to an address of your choice."
    other, _ = pins_for(canon)
    store_descriptions(pins_store(settings), other, canon)
    project = tmp_path / "project"
    project.mkdir()
    (project / "mgx.toml").write_text((root / "mgx.toml").read_text())
    changed = Lockfile(tools={name: replace(tool, tool_pins=other)})
    atomic_write(project / "mgx.lock", dumps(changed))
    return project


async def test_a_file_server_refused_at_its_start_is_a_tool_error_the_agent_sees(
    fs_project: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, root = fs_project
    project = _refused_project(settings, root, tmp_path)
    seen: list[str] = []

    def script(body: dict[str, Any]) -> Reply:
        if presenting(body):
            return Reply(content="final")
        answers = answers_in(body)
        if answers:
            return vote(next(iter(answers)))
        results = [m["content"] for m in body["messages"] if m["role"] == "tool"]
        if results:
            seen.extend(results)
            return new_answer("could not write")
        system = body["messages"][0]["content"]
        line = next(
            x for x in system.splitlines() if x.endswith("(read and write): your workspace")
        )
        path = line.removeprefix("- ").split(" (read and write)")[0] + "/out.txt"
        return Reply(tool_calls=[call("workspace__write_file", {"path": path, "content": "x"})])

    with ScriptedLLM(latency=0.0, default=script) as llm:
        run = RunSettings(project_dir=project, files=FilesOptions())
        outcome = await run_team("go", _team(llm.url, 1), settings=settings, run=run)
    assert outcome.answer == "final"
    assert len(seen) == 1, seen
    assert seen[0].startswith("Tool error: server 'workspace' is not running")
    assert "tool descriptions changed" in seen[0] and "mgx tool trust" in seen[0]
    assert outcome.team is not None and outcome.team.workspace is not None
    final = Path(outcome.team.workspace["final_workspace"])
    assert not (final / "out.txt").exists()
    refused = [s for s in outcome.servers if s.name == WRITE_SERVER]
    assert refused and refused[0].state == "failed" and "mgx tool trust" in (refused[0].error or "")
    assert wait_dead(_processes_naming(outcome.team.workspace["run_dir"])) == []


@pytest.mark.skipif(not LEASHED, reason="needs Linux (PR_SET_PDEATHSIG)")
def test_kill_9_of_mgx_run_while_its_file_servers_start_leaves_no_process(
    fs_home: Path, tmp_path: Path
) -> None:
    """The background starts belong to mgx like any server: killed with it, even by -9."""
    release = threading.Event()

    def stuck(body: dict[str, Any]) -> Reply:
        release.wait(120)  # the agents' first request never comes back while mgx lives
        return Reply(content="late")

    home = Path(os.environ["MGX_HOME"])
    runs = str(home / "state" / "runs")
    with ScriptedLLM(latency=0.0, default=stuck) as llm:
        team = tmp_path / "team.yaml"
        team.write_text(
            "agents:\n"
            + "".join(
                f"  - id: a{i}\n    backend: {{type: vllm, model: scripted, "
                f"base_url: '{llm.url}', cwd: ws{i}}}\n"
                for i in (1, 2, 3)
            )
        )
        proc = subprocess.Popen(
            [*MGX, "run", "go", "--config", str(team), "-C", str(fs_home)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            servers = _wait_for_processes_naming(runs, proc)
            proc.kill()
            proc.wait(30)
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
    assert wait_dead(servers) == [], "a file server outlived mgx run"
    assert wait_dead(_processes_naming(runs)) == []


def _wait_for_processes_naming(text: str, proc: subprocess.Popen[bytes]) -> list[int]:
    """The processes naming ``text`` once there are any; fails if ``proc`` ends first."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = _processes_naming(text)
        if found:
            return found
        if proc.poll() is not None:
            raise AssertionError(f"mgx run ended (status {proc.returncode}) before any server")
        time.sleep(0.02)
    raise AssertionError(f"no process naming {text} within 120 s")
