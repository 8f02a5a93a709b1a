"""MassGen's own example configs (tests/data/massgen, copied unmodified): every file loads;
each one runs end to end against the scripted server through ``--base-url`` (its MCP
servers replaced by a stub that answers to the same commands), or is refused with one line
naming what is unsupported."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.cli import main
from runtime.errors import TeamConfigError
from runtime.teams import check_team, load_team_file
from tests.scripted_llm import Reply, ScriptedLLM

from .conftest import answers_in, new_answer, presenting, vote

DATA = Path(__file__).resolve().parents[1] / "data" / "massgen"
CONFIGS = sorted(DATA.rglob("*.yaml"))
STUB = Path(__file__).with_name("stub_mcp_server.py")


def _runnable(path: Path) -> bool:
    try:
        check_team(load_team_file(path))
    except TeamConfigError:
        return False
    return True


def needs_files(path: Path) -> bool:
    """Whether the config gives agents workspaces (``cwd``) or context paths: those run in
    tests/workspaces/test_massgen_workspaces.py, with the real filesystem server."""
    spec = load_team_file(path)
    return bool(
        spec.workspace.context_paths
        or any(a.backend.workspace.cwd or a.backend.workspace.context_paths for a in spec.agents)
    )


RUNNABLE = [p for p in CONFIGS if _runnable(p)]
REFUSED = [p for p in CONFIGS if p not in RUNNABLE]
WITH_FILES = [p for p in RUNNABLE if needs_files(p)]


def _id(path: Path) -> str:
    return str(path.relative_to(DATA))


def test_the_copies_are_all_here():
    assert len(CONFIGS) == 64
    assert len(RUNNABLE) >= 40 and len(REFUSED) >= 10
    assert len(WITH_FILES) == 4  # the OpenAI-compatible filesystem examples run now
    # What is still refused is a backend that is not a chat endpoint, never a workspace key.
    for path in REFUSED:
        with pytest.raises(TeamConfigError, match="backend type .* is not supported"):
            check_team(load_team_file(path))


@pytest.mark.parametrize("path", CONFIGS, ids=_id)
def test_every_config_loads(path):
    spec = load_team_file(path)
    assert spec.agents and all(a.backend.type for a in spec.agents)
    for warning in spec.warnings:
        assert "\n" not in warning and str(path) in warning


@pytest.mark.parametrize("path", REFUSED, ids=_id)
def test_unsupported_configs_fail_with_one_line_naming_what(path, capsys):
    code = main(["run", "task", "--config", str(path), "--base-url", "http://127.0.0.1:9/v1"])
    _, err = capsys.readouterr()
    line = err.strip().splitlines()[-1]
    assert code == 2
    assert line.startswith(f"mgx: error: {path}: ")
    assert "not supported" in line
    assert re.search(r"'claude_code'", line)


@pytest.fixture
def stub_commands(tmp_path, monkeypatch) -> Path:
    """``npx`` and ``python`` on PATH that start the stub MCP server (whatever the args)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("npx", "python", "python3"):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STUB}" "$@"\n')
        shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


@pytest.fixture(scope="module")
def stub_on_8000() -> Iterator[bool]:
    """The stub over streamable HTTP where MassGen's examples expect it (localhost:8000);
    False when that port is taken on this machine."""
    try:
        socket.create_connection(("127.0.0.1", 8000), timeout=0.2).close()
        yield False  # something else listens there
        return
    except OSError:
        pass
    proc = subprocess.Popen(
        [sys.executable, str(STUB), "--http", "8000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", 8000), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        yield proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)


def _team_script(body: dict[str, Any]) -> Reply:
    if presenting(body):
        return Reply(content="final answer")
    answers = answers_in(body)
    return vote(next(iter(answers))) if answers else new_answer("an answer")


@pytest.mark.parametrize("path", [p for p in RUNNABLE if p not in WITH_FILES], ids=_id)
def test_openai_compatible_configs_run_end_to_end(
    path, capsys, monkeypatch, stub_commands, request
):
    spec = load_team_file(path)
    if any(e.transport == "streamable-http" for a in spec.agents for e in a.backend.mcp_servers):
        if not request.getfixturevalue("stub_on_8000"):
            pytest.skip("port 8000 (MassGen's example MCP URL) is taken on this machine")
    for agent in spec.agents:  # ${VAR}s the config's MCP servers refer to
        for entry in agent.backend.mcp_servers:
            for value in (*entry.env.values(), *entry.command):
                for name in re.findall(r"\$\{(\w+)\}", value):
                    monkeypatch.setenv(name, "secret-value-for-" + name)
    with ScriptedLLM(default=_team_script) as llm:
        code = main(
            ["run", "What is 2 + 2?", "--config", str(path), "--base-url", llm.url, "--json"]
        )
        out, err = capsys.readouterr()
        requests = list(llm.requests)
    assert code == 0, err
    data = json.loads(out)
    assert data["answer"] == "final answer" and data["decision"] == "votes"
    assert [a["name"] for a in data["agents"]] == [a.id for a in spec.agents]
    assert data["failures"] == {} and data["guard"]["fired"] is False
    assert data["warnings"] == list(spec.warnings)
    # Each agent's MCP tools were offered to it next to the workflow tools.
    if any(a.backend.mcp_servers for a in spec.agents):
        offered = {t["function"]["name"] for r in requests for t in r.get("tools", [])}
        assert offered - {"new_answer", "vote"}, offered
    # A config's system message reaches its agent, after the shared coordination prompt.
    for agent in spec.agents:
        if agent.system_message and agent.system_message.strip():
            assert any(
                r["messages"][0]["content"].endswith(agent.system_message.strip()) for r in requests
            )
