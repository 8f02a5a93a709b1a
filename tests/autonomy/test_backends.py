"""Every battery answer produced by a model through the runtime's client, in every shape an
OpenAI-compatible backend delivers a final answer, then judged by the guard.

The scripted server (a real HTTP server on loopback) plays each case in one of six shapes,
round-robin over the battery so every shape sees asking and clean answers in every language:

* streamed content in small SSE deltas;
* one whole JSON body (a server that ignores ``stream``);
* a native tool call to a real MCP tool first, then the answer;
* streamed ``reasoning_content`` whose thinking itself asks questions, then the answer;
* whole-body ``reasoning`` (vLLM's newer field) with a tool call, then the answer whole;
* a tool call written as text (Hermes ``<tool_call>``) and an inline ``<think>`` block.

What must hold: the agent's final text is the case's answer (extraction lost nothing and
let no thinking or tool-call text in, apart from the inline ``<think>`` block that the guard
masks), and the guard's verdict on it is the verdict on the case's own text, so the figures
of ``test_battery`` hold for answers that came through a backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from runtime.agent import Agent, AgentConfig
from runtime.autonomy import asks_user
from runtime.tools import ToolHub
from tests.agents.conftest import chat, demo_spec
from tests.scripted_llm import Reply, ScriptedLLM, call

from .battery import SPLITS, load, score

THINKING = "The user might want CSV. Should I ask them? Would you like me to ask? Let me know."
SHAPES = ("stream", "whole", "tool", "reasoning", "whole-reasoning-tool", "text-tool-think")


def _script(case_text: str, shape: str) -> list[Reply]:
    if shape == "stream":
        return [Reply(content=case_text, piece=5)]
    if shape == "whole":
        return [Reply(content=case_text, stream=False)]
    if shape == "tool":
        return [Reply(tool_calls=[call("demo__add", {"a": 2, "b": 3})]), Reply(content=case_text)]
    if shape == "reasoning":
        return [Reply(reasoning=THINKING, content=case_text, piece=9)]
    if shape == "whole-reasoning-tool":
        return [
            Reply(reasoning=THINKING, tool_calls=[call("demo__echo", {"text": "x"})], stream=False),
            Reply(reasoning=THINKING, content=case_text, stream=False),
        ]
    hermes = '<tool_call>{"name": "demo__echo", "arguments": {"text": "hi"}}</tool_call>'
    return [Reply(content=hermes), Reply(content=f"<think>{THINKING}</think>\n{case_text}")]


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[ToolHub]:
    async with ToolHub([demo_spec()], log_dir=tmp_path / "logs", call_timeout=30) as tools:
        yield tools


@pytest.mark.parametrize("split", SPLITS)
async def test_answers_through_every_backend_shape_get_the_same_verdict(split, hub):
    cases = load(split)
    verdicts: list[bool] = []
    shapes_seen: dict[str, set[tuple[str, str]]] = {s: set() for s in SHAPES}
    with ScriptedLLM() as llm:
        async with chat(llm) as client:
            agent = Agent(client, hub=hub, config=AgentConfig(max_steps=3))
            for index, case in enumerate(cases):
                shape = SHAPES[index % len(SHAPES)]
                llm.add(*_script(case.text, shape))
                result = await agent.run("task")
                final = result.final_text
                if shape == "text-tool-think":
                    assert final.startswith("<think>"), case.id
                    assert final.endswith(case.text), case.id
                    # The text-written call was recovered and really ran.
                    assert result.steps[0].tool_calls[0].result == "hi", case.id
                else:
                    assert final == case.text, (case.id, shape)
                if shape in ("tool", "whole-reasoning-tool"):
                    assert result.steps[0].tool_calls[0].is_error is False, case.id
                verdict = asks_user(final) is not None
                assert verdict == (asks_user(case.text) is not None), (case.id, shape)
                verdicts.append(verdict)
                shapes_seen[shape].add((case.lang, case.label))
    result_score = score(cases, verdicts)
    assert result_score.recall >= 0.97 and result_score.false_positive_rate <= 0.03
    # Every shape carried both labels (and several languages).
    for shape, seen in shapes_seen.items():
        assert {label for _, label in seen} == {"asks", "clean"}, shape
        assert len({lang for lang, _ in seen}) >= 4, shape


async def test_the_requests_asked_for_a_stream_and_offered_the_tools(hub):
    # The shapes above are the server's choice; the client always asks for a stream with
    # usage, and offers the tools on every turn (so text-written calls can be recovered).
    with ScriptedLLM([Reply(content="x", stream=False)]) as llm:
        async with chat(llm) as client:
            await Agent(client, hub=hub).run("task")
    body: dict[str, Any] = llm.requests[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert {t["function"]["name"] for t in body["tools"]} >= {"demo__add", "demo__echo"}
