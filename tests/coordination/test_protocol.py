"""The coordination protocol against scripted OpenAI-compatible servers (real HTTP)."""

from __future__ import annotations

import json
import threading
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from runtime.coordination import CoordinationEvent, CoordinationOptions, coordinate
from runtime.coordination._workflow import workflow_call_token_bound
from runtime.errors import AgentError
from tests.scripted_llm import Fail, Reply, ScriptedLLM

from .conftest import (
    answers_in,
    holder_of,
    members_for,
    new_answer,
    presenting,
    proposer,
    reminded,
    vote,
)


async def test_consensus_in_the_first_round():
    servers = [
        ScriptedLLM(default=proposer("BEST: 2 + 2 = 4", final="The answer is 4.")),
        ScriptedLLM(default=proposer("2 + 2 = 5")),
        ScriptedLLM(default=proposer("four")),
    ]
    events: list[CoordinationEvent] = []
    with servers[0], servers[1], servers[2]:
        async with AsyncExitStack() as stack:
            members = await members_for(stack, servers)
            result = await coordinate("What is 2 + 2?", members, on_event=events.append)

    assert result.answer == "The answer is 4."
    assert result.winner == result.presenter == "agent1"
    assert result.decision == "votes" and not result.timed_out
    assert result.tally == {"agent1": 3, "agent2": 0, "agent3": 0}
    assert {v.voter: v.choice for v in result.votes} == {
        "agent1": "agent1",
        "agent2": "agent1",
        "agent3": "agent1",
    }
    assert result.failures == {} and not result.guard.fired
    # Anonymised: no configured id or model reaches any model, and every agent's opening
    # prompt has the same shared prefix (system prompt, then task and answers).
    for server in servers:
        for body in server.requests:
            text = json.dumps(body["messages"])
            assert "m1" not in text and "model-1" not in text
    openings = [s.requests[0]["messages"][:1] for s in servers]
    assert openings[0] == openings[1] == openings[2]
    # Workflow tools only: vote is offered with an enum of the current holders.
    later = servers[1].requests[-1]
    tools = {t["function"]["name"]: t for t in later["tools"]}
    assert set(tools) == {"new_answer", "vote"}
    assert set(tools["vote"]["function"]["parameters"]["properties"]["agent_id"]["enum"]) == {
        "agent1",
        "agent2",
        "agent3",
    }
    assert "response_format" not in later and "tool_choice" not in later
    # Every completed call is counted (3 answers, 3 votes, the presentation at least; a
    # request cancelled by a new answer reaches the server but never completes).
    assert 7 <= result.usage.model_calls <= sum(len(s.requests) for s in servers)
    assert [a.name for a in result.agents] == ["m1", "m2", "m3"]
    assert {e.kind for e in events} >= {"round", "answer", "vote", "present", "final"}


async def test_a_new_answer_restarts_the_others():
    release = threading.Event()  # never set while the test runs: agent1's first round hangs

    def first_agent(body: dict[str, Any]) -> Any:
        if presenting(body):
            return Reply(content="final: BEST")
        answers = answers_in(body)
        if not answers:
            release.wait(30)  # its round can only end by being cancelled
            return Reply(content="too late")
        if holder_of(answers, "BEST") is None:
            return new_answer("BEST answer")
        return vote(holder_of(answers, "BEST") or "agent1")

    a = ScriptedLLM(default=first_agent)
    b = ScriptedLLM(default=proposer("weak answer"))
    try:
        with a, b:
            async with AsyncExitStack() as stack:
                result = await coordinate("t", await members_for(stack, [a, b]))
    finally:
        release.set()

    assert result.winner == "agent1" and result.answer == "final: BEST"
    assert result.tally == {"agent1": 2, "agent2": 0}
    by_id = {r.id: r for r in result.agents}
    # agent1's first round was cancelled by agent2's answer; agent2 was restarted (its round
    # or its vote) by agent1's answer.
    assert by_id["agent1"].restarts >= 1 and by_id["agent2"].restarts >= 1
    assert result.restarts == by_id["agent1"].restarts + by_id["agent2"].restarts
    seen_by_b = [answers_in(r) for r in b.requests if not presenting(r)]
    assert any(holder_of(x, "BEST") for x in seen_by_b)  # b saw the new answer


async def test_a_tie_goes_to_the_earliest_agent():
    def crossed(mine: str, other: str, final: str):
        def script(body: dict[str, Any]) -> Reply:
            if presenting(body):
                return Reply(content=final)
            answers = answers_in(body)
            if mine not in answers.values():
                return new_answer(mine)
            if other not in answers.values():
                return vote(holder_of(answers, mine) or "")  # cleared when the other answers
            return vote(holder_of(answers, other) or "")

        return script

    a = ScriptedLLM(default=crossed("answer A", "answer B", "presented by agent1"))
    b = ScriptedLLM(default=crossed("answer B", "answer A", "presented by agent2"))
    with a, b:
        async with AsyncExitStack() as stack:
            result = await coordinate("t", await members_for(stack, [a, b]))
    assert result.tally == {"agent1": 1, "agent2": 1}
    assert result.winner == "agent1" and result.answer == "presented by agent1"
    assert result.decision == "votes"


async def test_an_agent_that_never_calls_a_workflow_tool_is_reminded_then_dropped():
    a = ScriptedLLM(default=proposer("BEST"))
    silent = ScriptedLLM(default=Reply(content="I think the answer is 4."))
    with a, silent:
        async with AsyncExitStack() as stack:
            result = await coordinate("t", await members_for(stack, [a, silent]))
    assert result.winner == "agent1" and result.tally == {"agent1": 1}
    assert "agent2" in result.failures and "tool call" in result.failures["agent2"]
    assert {r.id: r.state for r in result.agents}["agent2"] == "failed"
    # Told once (with tool_choice "required" so a constraining server can enforce it).
    reminders = [r for r in silent.requests if reminded(r)]
    assert reminders and reminders[0]["tool_choice"] == "required"
    assert "agent2" not in {a.agent for a in result.answers}


async def test_an_agent_that_times_out_is_dropped():
    release = threading.Event()

    def stuck(body: dict[str, Any]) -> Reply:
        release.wait(30)
        return new_answer("late")

    a = ScriptedLLM(default=proposer("BEST"))
    slow = ScriptedLLM(default=stuck)
    try:
        with a, slow:
            async with AsyncExitStack() as stack:
                result = await coordinate(
                    "t",
                    await members_for(stack, [a, slow]),
                    options=CoordinationOptions(agent_timeout=1.0),
                )
    finally:
        release.set()
    assert result.failures == {"agent2": "timed out (agent timeout 1s)"}
    assert result.winner == "agent1" and result.decision == "votes"


async def test_the_orchestrator_timeout_presents_the_answers_that_exist():
    release = threading.Event()

    def answers_then_hangs(body: dict[str, Any]) -> Reply:
        if presenting(body):
            return Reply(content="presented after the timeout")
        if not answers_in(body):
            return new_answer("the only answer")
        release.wait(30)
        return vote("agent1")

    def hangs(body: dict[str, Any]) -> Reply:
        release.wait(30)
        return new_answer("never")

    a = ScriptedLLM(default=answers_then_hangs)
    b = ScriptedLLM(default=hangs)
    try:
        with a, b:
            async with AsyncExitStack() as stack:
                result = await coordinate(
                    "t",
                    await members_for(stack, [a, b]),
                    options=CoordinationOptions(timeout=5.0),
                )
    finally:
        release.set()
    assert result.timed_out and result.winner == "agent1"
    assert result.decision.startswith("no valid votes at timeout")
    assert result.answer == "presented after the timeout"
    assert result.tally == {"agent1": 0}


async def test_the_orchestrator_timeout_with_no_answer_is_one_clear_error():
    release = threading.Event()

    def hangs(body: dict[str, Any]) -> Reply:
        release.wait(30)
        return new_answer("never")

    a = ScriptedLLM(default=hangs)
    try:
        with a:
            async with AsyncExitStack() as stack:
                with pytest.raises(AgentError, match="timed out after 1s before any agent"):
                    await coordinate(
                        "t",
                        await members_for(stack, [a]),
                        options=CoordinationOptions(timeout=1.0),
                    )
    finally:
        release.set()


async def test_an_endpoint_without_response_format_or_tool_choice():
    """The server refuses both parameters (HTTP 400): the agents still coordinate."""
    broken = '<tool_call>{"name": "new_answer", "arguments": {"text": 1}}</tool_call>'
    seen_broken: set[str] = set()

    def script(body: dict[str, Any]) -> Any:
        if "response_format" in body or "tool_choice" in body:
            return Fail(400, {"error": {"message": "unsupported parameter", "code": 400}})
        if presenting(body):
            return Reply(content="final")
        answers = answers_in(body)
        if not answers:
            key = body["messages"][0]["content"]
            if key not in seen_broken:  # the first attempt is an unusable call
                seen_broken.add(key)
                return Reply(content=broken)
            return new_answer("an answer")
        return vote(next(iter(answers)))

    with ScriptedLLM(default=script) as server:
        async with AsyncExitStack() as stack:
            members = await members_for(stack, [server], max_retries=0)
            result = await coordinate("t", members)
    assert result.answer == "final" and result.tally == {"agent1": 1}
    assert result.failures == {}
    refused = [r for r in server.requests if "response_format" in r or "tool_choice" in r]
    assert any("response_format" in r for r in refused)  # the client's constrained retry
    assert any(r.get("tool_choice") == "required" for r in refused)  # the reminder
    # After the refusal the reminder went out again without tool_choice, and worked.
    assert reminded(server.requests[-3]) or any(
        reminded(r) and "tool_choice" not in r for r in server.requests
    )


async def test_failed_members_are_dropped_and_named():
    a = ScriptedLLM(default=proposer("BEST", final="final"))
    down = ScriptedLLM(default=Fail(500))
    c = ScriptedLLM(default=proposer("other"))
    with a, down, c:
        async with AsyncExitStack() as stack:
            members = await members_for(stack, [a, down, c], max_retries=0)
            result = await coordinate("t", members)
    assert set(result.failures) == {"agent2"} and "HTTP 500" in result.failures["agent2"]
    assert "agent2" not in result.tally and result.winner == "agent1"
    assert result.tally == {"agent1": 2, "agent3": 0}


async def test_all_members_failing_is_one_clear_error():
    a = ScriptedLLM(default=Fail(500))
    b = ScriptedLLM(default=Fail(503))
    with a, b:
        async with AsyncExitStack() as stack:
            members = await members_for(stack, [a, b], max_retries=0)
            with pytest.raises(AgentError) as info:
                await coordinate("t", members)
    message = str(info.value)
    assert message.startswith("no agent produced an answer: agent1 (m1): ")
    assert "agent2 (m2): " in message and "\n" not in message


async def test_limits_on_answers_per_agent():
    def eager(body: dict[str, Any]) -> Reply:
        if presenting(body):
            return Reply(content="final")
        last = body["messages"][-1]
        if last.get("role") == "tool" and "most answers allowed" in last["content"]:
            return vote("agent1")
        return new_answer(f"answer {len(answers_in(body))}")

    with ScriptedLLM(default=eager) as server:
        async with AsyncExitStack() as stack:
            result = await coordinate(
                "t",
                await members_for(stack, [server]),
                options=CoordinationOptions(max_answers=2),
            )
    assert result.agents[0].answers == 2 and result.tally == {"agent1": 1}


async def test_the_agent_token_budget_drops_a_spender():
    a = ScriptedLLM(default=proposer("BEST"))
    spender = ScriptedLLM(
        default=Reply(
            tool_calls=[{"type": "function", "function": {"name": "new_answer",
                         "arguments": json.dumps({"content": "x" * 50})}}],
            usage={"prompt_tokens": 900, "completion_tokens": 200, "total_tokens": 1100},
        )
    )  # fmt: skip
    with a, spender:
        async with AsyncExitStack() as stack:
            result = await coordinate(
                "t",
                await members_for(stack, [a, spender]),
                options=CoordinationOptions(agent_token_budget=1000),
            )
    assert "over its token budget of 1000" in result.failures["agent2"]
    assert result.winner == "agent1"


async def test_bad_teams_are_refused():
    with ScriptedLLM() as server:
        async with AsyncExitStack() as stack:
            one = (await members_for(stack, [server]))[0]
            with pytest.raises(AgentError, match="unique"):
                await coordinate("t", [one, one])
            with pytest.raises(AgentError, match="presenter 'x'"):
                await coordinate("t", [one], options=CoordinationOptions(presenter="x"))
            with pytest.raises(AgentError, match="at least one"):
                await coordinate("t", [])


async def test_require_tool_call_asks_for_a_call_on_every_turn():
    seen: list[Any] = []

    def script(body: dict[str, Any]) -> Reply:
        if presenting(body):
            return Reply(content="final")
        seen.append(body.get("tool_choice"))
        return vote("agent1") if answers_in(body) else new_answer("a")

    with ScriptedLLM(default=script) as server:
        async with AsyncExitStack() as stack:
            result = await coordinate(
                "t",
                await members_for(stack, [server]),
                options=CoordinationOptions(require_tool_call=True),
            )
        presenting_requests = [r for r in server.requests if presenting(r)]
    assert result.tally == {"agent1": 1}
    assert seen == ["required", "required"]
    assert all("tool_choice" not in r for r in presenting_requests)


async def test_the_team_token_budget_stops_and_presents_what_exists():
    def script(body: dict[str, Any]) -> Reply:
        if presenting(body):
            return Reply(content="presented within budget")
        if answers_in(body):
            return vote("agent1")
        return Reply(
            tool_calls=[{"type": "function", "function": {"name": "new_answer",
                         "arguments": json.dumps({"content": "costly"})}}],
            usage={"prompt_tokens": 900, "completion_tokens": 200, "total_tokens": 1100},
        )  # fmt: skip

    with ScriptedLLM(default=script) as server:
        async with AsyncExitStack() as stack:
            result = await coordinate(
                "t",
                await members_for(stack, [server]),
                options=CoordinationOptions(token_budget=1000),
            )
        coordinating = [r for r in server.requests if not presenting(r)]
    assert len(coordinating) == 1  # no request started once the budget was spent
    assert (
        result.decision
        == "no valid votes at token budget: the earliest agent's answer was presented"
    )
    assert result.answer == "presented within budget" and not result.timed_out


async def test_a_designated_presenter_that_failed_leaves_the_winner_presenting():
    a = ScriptedLLM(default=proposer("BEST", final="presented by the winner"))
    down = ScriptedLLM(default=Fail(500))
    with a, down:
        async with AsyncExitStack() as stack:
            members = await members_for(stack, [a, down], max_retries=0)
            result = await coordinate("t", members, options=CoordinationOptions(presenter="m2"))
    assert result.presenter == "agent1" and result.answer == "presented by the winner"


async def test_the_demanded_workflow_call_is_strict_single_and_bounded():
    # What lets vLLM's constrained decoding supply the call: strict tools (their arguments
    # follow the schema), one call only, and max_tokens that fits the longest valid call.
    demanded: list[dict[str, Any]] = []

    def script(body: dict[str, Any]) -> Reply:
        if presenting(body):
            return Reply(content="final")
        demanded.append(body)
        return vote("agent1") if answers_in(body) else new_answer("red")

    with ScriptedLLM(default=script) as server:
        async with AsyncExitStack() as stack:
            members = await members_for(stack, [server])
            members[0] = replace(members[0], max_tokens=32)
            result = await coordinate(
                "t",
                members,
                options=CoordinationOptions(
                    require_tool_call=True, max_answer_chars=40, max_answers=1
                ),
            )
        presenting_requests = [r for r in server.requests if presenting(r)]
    assert result.tally == {"agent1": 1}
    first, second = demanded
    for body in demanded:
        assert body["tool_choice"] == "required" and body["parallel_tool_calls"] is False
        for tool in body["tools"]:
            assert tool["function"]["strict"] is True
            assert tool["function"]["parameters"]["additionalProperties"] is False
    assert first["max_tokens"] == workflow_call_token_bound([], max_answer_chars=40)
    assert second["max_tokens"] == workflow_call_token_bound(["agent1"], max_answer_chars=40)
    assert 32 < first["max_tokens"] < second["max_tokens"]
    # Out of answers (max_answers=1): the constrained request offers only vote.
    assert [t["function"]["name"] for t in first["tools"]] == ["new_answer"]
    assert [t["function"]["name"] for t in second["tools"]] == ["vote"]
    content = first["tools"][0]["function"]["parameters"]["properties"]["content"]
    jsonschema.validate("red", content)
    for bad in ("", "  ", "x" * 41):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, content)
    # The presentation is free text: the member's own max_tokens, no demand.
    assert all(
        r["max_tokens"] == 32 and "parallel_tool_calls" not in r for r in presenting_requests
    )


async def test_a_server_that_refuses_the_demanded_call_gets_the_plain_request():
    def script(body: dict[str, Any]) -> Any:
        if "parallel_tool_calls" in body or any(t["function"].get("strict") for t in body["tools"]):
            return Fail(422, {"error": {"message": "strict tools are not supported"}})
        if presenting(body):
            return Reply(content="final")
        return vote("agent1") if answers_in(body) else new_answer("red")

    with ScriptedLLM(default=script) as server:
        async with AsyncExitStack() as stack:
            members = await members_for(stack, [server], max_retries=0)
            result = await coordinate(
                "t", members, options=CoordinationOptions(require_tool_call=True)
            )
    assert result.tally == {"agent1": 1} and result.failures == {}
    refused = [r for r in server.requests if "parallel_tool_calls" in r]
    assert len(refused) == 1  # asked once; never again after the refusal
    after = server.requests[server.requests.index(refused[0]) + 1 :]
    assert after and all("tool_choice" not in r for r in after)
    assert all(not t["function"].get("strict") for r in after for t in r.get("tools", []))
