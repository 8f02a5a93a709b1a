"""``run_task``: tools up, clients open, agent or team, everything closed again."""

from __future__ import annotations

import re

import pytest

from runtime.errors import ToolError
from runtime.models import ModelTarget
from runtime.prompts import PRESENTATION_SYSTEM
from runtime.runner import run_task
from runtime.tools import ServerSpec, ToolFilter
from tests.helpers import wait_dead
from tests.scripted_llm import Reply, ScriptedLLM, call

from .conftest import demo_spec


def target(server: ScriptedLLM, name: str = "scripted") -> ModelTarget:
    return ModelTarget(name=name, model="scripted", endpoints=(server.url,), api_key=None)


async def test_one_agent_with_tools_and_a_filter(tmp_path):
    script = [
        Reply(tool_calls=[call("demo__pid", {})]),
        Reply(content="done"),
    ]
    with ScriptedLLM(script) as llm:
        outcome = await run_task(
            "which pid?",
            models=[target(llm)],
            servers=[demo_spec(), demo_spec("other")],
            tool_filter=ToolFilter(allow=("demo__*",)),
            log_dir=tmp_path,
        )
    assert outcome.answer == "done" and outcome.team is None
    assert outcome.agent is not None and outcome.agent.usage.tool_calls == 1
    assert all(name.startswith("demo__") for name in outcome.tools)
    assert {s.name: s.state for s in outcome.servers} == {"demo": "active", "other": "active"}
    assert [t["function"]["name"] for t in llm.requests[0]["tools"]] == list(outcome.tools)
    pid = int(outcome.agent.steps[0].tool_calls[0].result)
    assert wait_dead([pid]) == []  # the server is gone once run_task returns


async def test_team_over_two_models():
    """Four agents over two models (round-robin): they coordinate and agent2 presents."""

    def script(answer: str):
        def step(body: dict) -> Reply:
            if body["messages"][0]["content"].startswith(PRESENTATION_SYSTEM):
                return Reply(content=f"final by {answer}")
            shown = body["messages"][1]["content"]
            if f"> {answer} <" not in shown:
                return Reply(tool_calls=[call("new_answer", {"content": answer})])
            # Vote for the first holder of "b" (agent2 or agent4, whichever answered first).
            holder = re.search(r"<(agent\d+)> b <", shown)
            choice = holder.group(1) if holder else "agent1"
            return Reply(tool_calls=[call("vote", {"agent_id": choice, "reason": "b"})])

        return step

    with ScriptedLLM(default=script("a")) as a, ScriptedLLM(default=script("b")) as b:
        outcome = await run_task("t", models=[target(a, "A"), target(b, "B")], agents=4)
    team = outcome.team
    assert team is not None
    assert [(x.id, x.model) for x in team.agents] == [
        ("agent1", "scripted"),
        ("agent2", "scripted"),
        ("agent3", "scripted"),
        ("agent4", "scripted"),
    ]
    assert team.winner in ("agent2", "agent4") and outcome.answer == "final by b"
    assert team.tally[team.winner] == 4


async def test_a_tool_server_that_cannot_start_fails_before_the_model_is_called(tmp_path):
    broken = ServerSpec(name="broken", command=(str(tmp_path / "missing-binary"),))
    with ScriptedLLM([Reply(content="never")]) as llm:
        with pytest.raises(ToolError, match="'broken'"):
            await run_task("t", models=[target(llm)], servers=[demo_spec(), broken])
        assert llm.requests == []
