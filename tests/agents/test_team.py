"""Teams: parallel answers, anonymised votes (garbage included), winner presents, guard."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack

import pytest

from runtime.autonomy import REPROMPT
from runtime.errors import AgentError
from runtime.team import TeamMember, run_team
from tests.scripted_llm import Fail, Reply, ScriptedLLM, call

from .conftest import chat


def vote(n: int, reason: str = "most complete") -> Reply:
    return Reply(content=json.dumps({"best": n, "reason": reason}))


async def _members(stack: AsyncExitStack, servers: list[ScriptedLLM], **kw) -> list[TeamMember]:
    members = []
    for i, server in enumerate(servers, start=1):
        client = await stack.enter_async_context(chat(server, **kw))
        members.append(TeamMember(name=f"agent{i}", client=client, model=f"model-{i}"))
    return members


async def test_team_answers_votes_and_the_winner_presents_with_the_guard(demo_hub):
    a = ScriptedLLM(
        [
            Reply(tool_calls=[call("demo__add", {"a": 2, "b": 2})]),
            Reply(content="2 + 2 = 4 (checked with the add tool)"),
            vote(1),
            # Presenting: first a question back to the user, then (after the guard) an answer.
            Reply(content="The answer is 4. Would you like me to explain the addition?"),
            Reply(content="The answer is 4. Assumption: ordinary integer addition."),
        ]
    )
    b = ScriptedLLM([Reply(content="2 + 2 = 5"), Reply(content="garbage!! no vote here")])
    c = ScriptedLLM([Reply(content="four"), vote(1, "verified with a tool")])
    with a, b, c:
        async with AsyncExitStack() as stack:
            members = await _members(stack, [a, b, c])
            result = await run_team("What is 2 + 2?", members, hub=demo_hub)

    assert [x.text for x in result.answers] == [
        "2 + 2 = 4 (checked with the add tool)",
        "2 + 2 = 5",
        "four",
    ]
    votes = {v.voter: v for v in result.votes}
    assert votes["agent1"].choice == "agent1" and votes["agent3"].choice == "agent1"
    assert votes["agent2"].choice is None and votes["agent2"].raw.startswith("garbage")
    assert result.tally == {"agent1": 2, "agent2": 0, "agent3": 0}
    assert result.winner == result.presenter == "agent1"
    assert result.final_text == "The answer is 4. Assumption: ordinary integer addition."
    assert result.guard.triggered and "Would you like me to" in result.guard.reason
    assert result.guard.still_asking is None

    # The vote was constrained JSON over anonymised answers.
    ballot = c.requests[1]
    assert ballot["response_format"]["type"] == "json_schema"
    text = ballot["messages"][-1]["content"]
    assert "Answer 1" in text and "Answer 3" in text and "2 + 2 = 5" in text
    assert not any(name in text for name in ("agent1", "agent2", "model-1"))
    # The presenter saw every answer and the vote; the guard's reminder came once.
    presenting = a.requests[3]["messages"][-1]["content"]
    assert "chosen by the vote" in presenting and "four" in presenting
    reprompt = a.requests[4]["messages"]
    assert reprompt[-1] == {"role": "user", "content": REPROMPT}
    assert reprompt[-2]["content"].endswith("explain the addition?")
    assert len(a.requests) == 5 and len(b.requests) == 2 and len(c.requests) == 2
    # Usage adds up over every request of every member.
    assert result.usage.model_calls == 9
    assert result.usage.tool_calls == 1
    assert result.usage.total_tokens == sum(u.total_tokens for u in result.usage_by_agent.values())


async def test_guard_does_not_fire_on_a_plain_answer(demo_hub):
    a = ScriptedLLM([Reply(content="Paris"), vote(2), Reply(content="x")])
    b = ScriptedLLM([Reply(content="Paris, France"), vote(2), Reply(content="Paris, France.")])
    with a, b:
        async with AsyncExitStack() as stack:
            result = await run_team("Capital of France?", await _members(stack, [a, b]))
    assert result.winner == "agent2" and result.final_text == "Paris, France."
    assert not result.guard.triggered
    assert len(b.requests) == 3 and len(a.requests) == 2  # the loser does not present


async def test_tie_goes_to_the_earliest_member():
    a = ScriptedLLM([Reply(content="A"), vote(2), Reply(content="final from a")])
    b = ScriptedLLM([Reply(content="B"), vote(1)])
    with a, b:
        async with AsyncExitStack() as stack:
            result = await run_team("t", await _members(stack, [a, b]))
    assert result.tally == {"agent1": 1, "agent2": 1}
    assert result.winner == "agent1" and result.final_text == "final from a"


async def test_all_votes_garbage_goes_to_the_earliest_member():
    a = ScriptedLLM([Reply(content="A"), Reply(content="{not json"), Reply(content="fa")])
    b = ScriptedLLM([Reply(content="B"), Reply(content='{"best": 99}')])
    with a, b:
        async with AsyncExitStack() as stack:
            result = await run_team("t", await _members(stack, [a, b]))
    assert all(v.choice is None for v in result.votes)
    assert result.winner == "agent1" and result.final_text == "fa"


async def test_designated_presenter_and_a_failed_member():
    a = ScriptedLLM([Reply(content="A"), vote(1)])
    b = ScriptedLLM(default=Fail(500))  # never answers
    c = ScriptedLLM([Reply(content="C"), vote(1), Reply(content="presented by c")])
    with a, b, c:
        async with AsyncExitStack() as stack:
            members = await _members(stack, [a, b, c], max_retries=1)
            result = await run_team("t", members, presenter="agent3")
    failed = next(x for x in result.answers if x.agent == "agent2")
    assert failed.text == "" and failed.error and failed.stop_reason == "error"
    assert result.winner == "agent1" and result.presenter == "agent3"
    assert result.final_text == "presented by c"
    assert next(v for v in result.votes if v.voter == "agent2").choice is None


async def test_no_answers_at_all_is_an_error():
    a = ScriptedLLM(default=Fail(500))
    b = ScriptedLLM(default=Fail(500))
    with a, b:
        async with AsyncExitStack() as stack:
            members = await _members(stack, [a, b], max_retries=0)
            with pytest.raises(AgentError, match="no team member produced an answer"):
                await run_team("t", members)


async def test_bad_team_configuration():
    with ScriptedLLM() as a:
        async with chat(a) as client:
            one = TeamMember(name="x", client=client)
            with pytest.raises(AgentError, match="unique"):
                await run_team("t", [one, one])
            with pytest.raises(AgentError, match="presenter"):
                await run_team("t", [one], presenter="nobody")


async def test_team_members_on_one_server_run_concurrently(demo_hub):
    def script(body: dict) -> Reply:
        if "response_format" in body:
            return vote(2)
        prompt = body["messages"][-1]["content"]
        if prompt.startswith("## Task"):
            return Reply(content="final answer")
        return Reply(content=f"answer {len(body['messages'])}")

    with ScriptedLLM(latency=1.0, default=script) as server:
        async with chat(server) as client:
            members = [TeamMember(name=f"agent{i}", client=client) for i in range(1, 5)]
            result = await run_team("Same task for all", members, hub=demo_hub)
        assert server.max_in_flight == 4  # answers (and votes) went out together
        answer_requests = server.requests[:4]
        # Identical prefix (system prompt + tools) for every member.
        assert len({json.dumps(r["messages"][0]) for r in answer_requests}) == 1
        assert len({json.dumps(r["tools"]) for r in answer_requests}) == 1
    assert result.winner == "agent2" and result.final_text == "final answer"
    assert len(server.requests) == 4 + 4 + 1
