"""Agents of the real agent loop (``runtime.agent.Agent``), driven by the scripted
OpenAI-compatible server, whose replies call the real filesystem MCP server's tools through
a ``GuardedToolHub``: the first agent writes a file and answers, the second reads the first's
snapshot and refers to it, escapes come back as tool errors, the presenter builds on the
winner's files, and a second session turn sees the first's answer and workspace."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from marketplace.settings import Settings
from runtime.agent import Agent, AgentConfig
from runtime.client import ChatClient
from runtime.tools import ServerSpec
from runtime.workspaces import (
    READ_SERVER,
    WRITE_SERVER,
    GuardedToolHub,
    RunWorkspaces,
    SessionStore,
    file_servers,
)
from tests.scripted_llm import Reply, ScriptedLLM, call

pytestmark = pytest.mark.network

W, R = f"{WRITE_SERVER}__", f"{READ_SERVER}__"
P1 = "<p>1</p>\n"


async def _run_agent(
    llm: ScriptedLLM, fs: ServerSpec, ws: RunWorkspaces, agent: str, phase: str, task: str
):
    access = ws.access(agent, phase)  # type: ignore[arg-type]
    servers = file_servers(fs, access)
    prompt = f"You are {agent}. Your directories:\n{access.describe()}"
    async with (
        GuardedToolHub(servers.specs, access=access) as hub,
        ChatClient(llm.url, "scripted", backoff_s=0.01, timeout=60) as client,
    ):
        config = AgentConfig(name=agent, system_prompt=prompt, tool_filter=servers.tool_filter)
        return await Agent(client, hub=hub, config=config).run(task)


async def test_two_agents_share_files_through_snapshots_and_a_session_continues(
    fs_server: ServerSpec, tmp_path: Path, mgx_home: Path
) -> None:
    ws = RunWorkspaces(tmp_path / "run", workspace_agents=("a1", "a2"))
    a1, a2 = ws.workspace("a1"), ws.workspace("a2")
    assert a1 is not None and a2 is not None
    outside = tmp_path / "secret.txt"
    outside.write_text("secret\n")

    with ScriptedLLM() as llm:
        # agent a1: writes a page, tries to escape twice, answers
        llm.add(
            Reply(tool_calls=[call(f"{W}write_file", {"path": f"{a1}/page.html", "content": P1})]),
            Reply(tool_calls=[call(f"{W}write_file", {"path": f"{a1}/../a2/x", "content": "x"})]),
            Reply(tool_calls=[call(f"{W}read_text_file", {"path": str(outside)})]),
            Reply(content="page.html is written"),
        )  # fmt: skip
        first = await _run_agent(llm, fs_server, ws, "a1", "coordination", "make a page")
        calls = [c for s in first.steps for c in s.tool_calls]
        assert [c.is_error for c in calls] == [False, True, True]
        assert "'..' is not allowed" in calls[1].result and "outside" in calls[2].result
        assert "secret" not in calls[2].result.replace("secret.txt", "")
        assert not (a2 / "x").exists()
        ws.on_new_answer("a1", "agent1")

        # agent a2 restarts with agent1's answer: reads its file, cannot change it
        view = ws.view_for("a2")
        theirs = f"{view}/agent1/page.html"
        llm.add(
            Reply(tool_calls=[call(f"{R}read_text_file", {"path": f"{view}/agent1/page.html"})]),
            Reply(tool_calls=[call(f"{W}write_file", {"path": theirs, "content": "y"})]),
            Reply(content="I build on agent1's page.html"),
        )  # fmt: skip
        second = await _run_agent(llm, fs_server, ws, "a2", "coordination", "improve it")
        read, write = (c for s in second.steps for c in s.tool_calls)
        assert not read.is_error and "<p>1</p>" in read.result
        assert write.is_error and "outside the allowed directories" in write.result
        assert (view / "agent1" / "page.html").read_text() == P1
        assert "agent1" in second.final_text
        system = llm.requests[-1]["messages"][0]["content"]
        assert str(view) in system and "read-only" in system
        assert all("a1" not in p.name for p in view.iterdir())  # anonymous names only

        # agent1 wins; a2 presents: the winner's file plus its own change
        ws.prepare_presenter(winner_id="a1", presenter_id="a2")
        edits = [{"oldText": "<p>1</p>", "newText": "<p>1</p><p>2</p>"}]
        llm.add(
            Reply(tool_calls=[call(f"{W}edit_file", {"path": f"{a2}/page.html", "edits": edits})]),
            Reply(content="final page"),
        )  # fmt: skip
        final = await _run_agent(llm, fs_server, ws, "a2", "presentation", "present")
        assert not any(c.is_error for s in final.steps for c in s.tool_calls)
        result = ws.finish(tmp_path / "out")
        assert (tmp_path / "out" / "page.html").read_text() == "<p>1</p><p>2</p>\n"

        # the session keeps the turn; turn 2 reads turn 1's answer and files
        store = SessionStore(Settings.from_env({"MGX_HOME": str(mgx_home)}))
        store.record("site", task="make a page", answer=final.final_text,
                     workspace=result.final_workspace, started_at=time.time())  # fmt: skip
        context = store.context("site")
        (earlier,) = context.read_only_dirs
        old_page = f"{earlier}/page.html"
        ws2 = RunWorkspaces(tmp_path / "run2", workspace_agents=("a1",), session_dirs=[earlier])
        llm.add(
            Reply(tool_calls=[call(f"{R}read_text_file", {"path": f"{earlier}/page.html"})]),
            Reply(tool_calls=[call(f"{W}write_file", {"path": old_page, "content": "z"})]),
            Reply(content="turn 2 done"),
        )  # fmt: skip
        access = ws2.access("a1", "coordination")
        servers = file_servers(fs_server, access)
        async with (
            GuardedToolHub(servers.specs, access=access) as hub,
            ChatClient(llm.url, "scripted", backoff_s=0.01, timeout=60) as client,
        ):
            config = AgentConfig(system_prompt=context.prompt(), tool_filter=servers.tool_filter)
            turn2 = await Agent(client, hub=hub, config=config).run("continue")
        read, write = (c for s in turn2.steps for c in s.tool_calls)
        assert not read.is_error and "<p>2</p>" in read.result
        assert write.is_error
        assert (earlier / "page.html").read_text() == "<p>1</p><p>2</p>\n"
        assert "final page" in llm.requests[-1]["messages"][0]["content"]
