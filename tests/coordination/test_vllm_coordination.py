"""Two agents on one real vLLM server (CPU wheel, tiny random-weight model) coordinate.

The weights are random, so the model cannot write a sensible answer or vote on its own: the
workflow calls come from constrained decoding. Every request demands a workflow call
(``require_tool_call``), so the round sends ``tool_choice: required`` with
``parallel_tool_calls: false`` and the workflow tools marked ``strict``: vLLM's structural
tag then generates exactly one call whose arguments follow the schema (``maxLength`` and the
``agent_id`` enum included) and ends. The test checks that this yields valid
``new_answer``/``vote`` calls from both agents, a complete round decided by votes and a
presentation, all through the normal tool-call path.
"""

from __future__ import annotations

import json
import time

import pytest

from runtime.client import ChatClient
from runtime.coordination import (
    CoordinationEvent,
    CoordinationFailed,
    CoordinationOptions,
    Member,
    coordinate,
)
from runtime.coordination._workflow import WORKFLOW_TOOLS

pytestmark = pytest.mark.vllm


async def test_two_agents_on_one_vllm_server_complete_a_round_and_a_presentation(vllm_server):
    from runtime.models import pick_endpoint

    events: list[CoordinationEvent] = []
    started = time.perf_counter()
    async with ChatClient(
        await pick_endpoint(vllm_server), vllm_server.model, timeout=300, max_retries=0
    ) as client:
        members = [
            # max_tokens bounds the free-text presentation; the demanded workflow calls get
            # at least the schema's bound from the round itself. Sampled, not greedy: greedy
            # random weights repeat one token, and the grammar allows any run of whitespace
            # between JSON tokens (vLLM offers no per-request limit on it).
            Member(name=n, client=client, model=vllm_server.model, max_tokens=48,
                   request_extra={"seed": 0}, temperature=1.0)
            for n in ("qwen1", "qwen2")
        ]  # fmt: skip
        coordination = coordinate(
            "Name a colour.",
            members,
            options=CoordinationOptions(
                require_tool_call=True,
                max_steps=2,
                max_answers=1,
                timeout=900,
                # Random weights never close a JSON string on their own: the schema's
                # maxLength (enforced by vLLM's grammar for strict tools) ends the answer.
                max_answer_chars=40,
            ),
            on_event=events.append,
        )
        try:
            result = await coordination
        except CoordinationFailed as exc:  # show what the server generated
            said = [(e.agent, e.data) for e in events if e.kind == "message"][-8:]
            pytest.fail(f"{exc}\nlast messages: {json.dumps(said)[:4000]}")
    wall = time.perf_counter() - started

    # Both agents made workflow calls that the server generated as tool calls (no failure,
    # no reminder needed), one answer each (max_answers=1) and one vote each.
    assert result.failures == {}, result.failures
    calls: dict[str, list[str]] = {}
    for e in events:
        if e.kind == "message" and e.data and e.data.get("role") == "assistant":
            for call in e.data.get("tool_calls") or ():
                calls.setdefault(e.agent, []).append(call["function"]["name"])
    assert sorted(calls) == ["agent1", "agent2"], calls
    assert all(set(names) <= WORKFLOW_TOOLS for names in calls.values()), calls
    answers = [e for e in events if e.kind == "answer"]
    assert sorted(e.agent for e in answers) == ["agent1", "agent2"]
    assert all(0 < len(a.content) <= 40 for a in result.answers)  # maxLength held
    holders = {a.agent for a in result.answers}
    assert {v.voter for v in result.votes} == {"agent1", "agent2"}
    assert all(v.choice in holders for v in result.votes)

    # The winner has the most votes (ties to the earliest agent) and presented.
    assert result.decision == "votes"
    assert sum(result.tally.values()) == 2 and result.winner in holders
    top = max(result.tally.values())
    assert result.winner == min(a for a, n in result.tally.items() if n == top)
    assert result.presenter == result.winner
    assert any(e.kind == "present" for e in events) and any(e.kind == "final" for e in events)
    assert result.answer.strip()
    if result.presenter_error is not None:
        # A random model rarely ends free text before max_tokens: then the winning answer
        # stands, and the result says why (never silently).
        assert "token limit" in result.presenter_error
        assert result.answer == next(a.content for a in result.answers if a.agent == result.winner)

    report = json.loads(json.dumps(result.to_json()))
    assert report["winner"] == result.winner and report["answer"] == result.answer
    assert len(report["agents"]) == 2 and report["usage"]["model_calls"] >= 4
    print(
        f"\nvLLM coordination: wall {wall:.1f}s, rounds {result.rounds}, "
        f"requests {result.usage.model_calls}, tokens {result.usage.total_tokens}, "
        f"presenter_error {result.presenter_error!r}"
    )
