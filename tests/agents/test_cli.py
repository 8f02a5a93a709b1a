"""`mgx agent` end to end (in process) against the scripted server."""

from __future__ import annotations

import json

from runtime.cli import main
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
    def script(body: dict) -> Reply:
        if "response_format" in body:
            return Reply(content='{"best": 1, "reason": "fine"}')
        if body["messages"][-1]["content"].startswith("## Task"):
            return Reply(content="final")
        return Reply(content="an answer")

    with ScriptedLLM(default=script) as llm:
        code = main(["agent", "task", "--model", llm.url, "--agents", "3", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    assert data["answer"] == "final"
    assert data["team"]["winner"] == "agent1"
    assert data["team"]["tally"] == {"agent1": 3, "agent2": 0, "agent3": 0}
    assert len(data["team"]["answers"]) == 3 and len(data["team"]["votes"]) == 3


def test_unknown_model_is_a_clear_error(capsys):
    code = main(["agent", "task", "--model", "no-such-model"])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("mgx: error: no model named 'no-such-model'")
