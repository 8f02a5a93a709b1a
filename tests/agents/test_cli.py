"""`mgx agent` end to end (in process) against the scripted server."""

from __future__ import annotations

import json

from runtime.cli import main
from runtime.prompts import PRESENTATION_SYSTEM
from tests.scripted_llm import Reply, ScriptedLLM, call


def test_agent_prints_the_answer_and_usage(capsys):
    with ScriptedLLM([Reply(content="Forty-two.")]) as llm:
        code = main(["agent", "What is six times seven?", "--model", llm.url])
    out, err = capsys.readouterr()
    assert code == 0
    assert out == "Forty-two.\n"
    assert err.startswith("usage: ") and "1 model calls" in err and "0 tool calls" in err
    assert llm.requests[0]["messages"][-1]["content"] == "What is six times seven?"


def test_agent_json(capsys):
    with ScriptedLLM([Reply(content="done")]) as llm:
        code = main(["agent", "task", "--model", llm.url, "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["answer"] == "done"
    assert data["usage"]["model_calls"] == 1 and data["usage"]["total_tokens"] > 0
    assert data["agent"]["stop_reason"] == "answer"
    assert data["team"] is None


def test_max_steps_is_a_clear_error(capsys):
    llm = ScriptedLLM(default=Reply(content=None, tool_calls=[call("nothing", {})]))
    with llm:
        code = main(["agent", "loop", "--model", llm.url, "--max-steps", "1"])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("mgx: error: agent 'agent' reached --max-steps 1")
    assert len(err.strip().splitlines()) == 1


def test_team_from_the_cli(capsys):
    """``--agents 3`` runs the coordination protocol: workflow tools, votes, presentation."""

    def script(body: dict) -> Reply:
        if body["messages"][0]["content"].startswith(PRESENTATION_SYSTEM):
            return Reply(content="final")
        if "<agent1>" not in body["messages"][1]["content"]:
            return Reply(tool_calls=[call("new_answer", {"content": "an answer"})])
        return Reply(tool_calls=[call("vote", {"agent_id": "agent1", "reason": "fine"})])

    with ScriptedLLM(default=script) as llm:
        code = main(["agent", "task", "--model", llm.url, "--agents", "3", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    assert data["answer"] == "final"
    team = data["team"]
    assert team["winner"] == "agent1" and team["decision"] == "votes"
    assert team["tally"]["agent1"] == 3
    assert len(team["votes"]) == 3 and team["failures"] == {}
    assert team["guard"]["fired"] is False
    # A member's model is the model id, not its URL.
    assert {a["model"] for a in team["agents"]} == {"scripted"}
    assert all(a["usage"]["model_calls"] >= 1 for a in team["agents"])


def test_more_models_than_agents_is_refused(capsys):
    with ScriptedLLM() as llm:
        code = main(["agent", "t", "-m", llm.url, "-m", llm.url, "--agents", "1"])
    _, err = capsys.readouterr()
    assert code == 1 and "2 models given for 1 agent(s)" in err


def test_unknown_model_is_a_clear_error(capsys):
    code = main(["agent", "task", "--model", "no-such-model"])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("mgx: error: no model named 'no-such-model'")


def test_team_json_when_every_agent_stops_at_max_steps(capsys):
    # Every agent keeps calling a tool that does not exist: each round hits --max-steps 1.
    llm = ScriptedLLM(default=Reply(content=None, tool_calls=[call("nothing", {})]))
    with llm:
        code = main(["agent", "t", "-m", llm.url, "--agents", "2", "--max-steps", "1", "--json"])
    out, _ = capsys.readouterr()
    assert code == 1
    data = json.loads(out)
    assert data["answer"] is None and data["error"].startswith("no agent produced an answer")
    assert set(data["failures"]) == {"agent1", "agent2"}
    assert all("max-steps 1" in why or "tool" in why for why in data["failures"].values())
