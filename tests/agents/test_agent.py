"""The agent loop against the scripted OpenAI-compatible server and a real MCP server."""

from __future__ import annotations

import asyncio
import json

import pytest

from runtime.agent import Agent, AgentConfig, MaxStepsExceeded
from runtime.errors import LLMError
from runtime.tools import ToolFilter
from tests.scripted_llm import Fail, Reply, ScriptedLLM, call

from .conftest import chat


def tool_messages(request: dict) -> list[dict]:
    return [m for m in request["messages"] if m["role"] == "tool"]


async def test_agent_calls_a_tool_and_answers(llm, demo_hub):
    llm.add(Reply(tool_calls=[call("demo__add", {"a": 2, "b": 3})]), Reply(content="2 + 3 = 5"))
    async with chat(llm) as client:
        result = await Agent(client, hub=demo_hub).run("What is 2 + 3?")
    assert result.final_text == "2 + 3 = 5"
    assert result.stop_reason == "answer"
    assert len(result.steps) == 2
    (record,) = result.steps[0].tool_calls
    assert (record.name, record.arguments, record.result, record.is_error) == (
        "demo__add",
        {"a": 2, "b": 3},
        "5",
        False,
    )
    first, second = llm.requests
    # The tool result went back to the model, answering the call's id.
    assistant = second["messages"][2]
    (tool_msg,) = tool_messages(second)
    assert tool_msg["content"] == "5"
    assert tool_msg["tool_call_id"] == assistant["tool_calls"][0]["id"] == record.id
    # The system prompt and tools come first and stay byte-identical between requests.
    assert first["messages"][0]["role"] == "system"
    assert first["tools"] == second["tools"] == demo_hub.openai_tools()
    assert first["messages"][:2] == second["messages"][:2]
    u = result.usage
    assert (u.model_calls, u.tool_calls, u.tool_errors) == (2, 1, 0)
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens > 0
    assert u.wall_s >= u.model_time_s > 0 and u.tool_time_s > 0


async def test_several_tool_calls_run_concurrently_and_stay_in_order(llm, demo_hub):
    llm.add(
        Reply(
            tool_calls=[
                call("demo__slow", {"seconds": 2}),
                call("demo__echo", {"text": "b"}),
                call("demo__slow", {"seconds": 2.5}),
            ]
        ),
        Reply(content="done"),
    )
    async with chat(llm) as client:
        result = await Agent(client, hub=demo_hub).run("go")
    assert [m["content"] for m in tool_messages(llm.requests[1])] == ["slept 2.0", "b", "slept 2.5"]
    # Run one after another they would take >= 4.5 s.
    assert result.usage.tool_time_s < 4.4


async def test_tool_server_killed_mid_call_is_a_tool_error_and_the_run_continues(llm, demo_hub):
    llm.add(
        Reply(tool_calls=[call("demo__crash", {})]),
        Reply(tool_calls=[call("demo__echo", {"text": "after restart"})]),
        Reply(content="recovered"),
    )
    async with chat(llm) as client:
        result = await Agent(client, hub=demo_hub).run("crash it")
    assert result.final_text == "recovered"
    crashed = tool_messages(llm.requests[1])[0]["content"]
    assert crashed.startswith("Tool error:") and "crashed" in crashed
    assert tool_messages(llm.requests[2])[-1]["content"] == "after restart"
    assert demo_hub.status()[0].restarts == 1
    assert result.usage.tool_errors == 1 and result.usage.tool_calls == 2


async def test_tool_that_hangs_past_its_timeout_is_a_tool_error(llm, demo_hub):
    llm.add(Reply(tool_calls=[call("demo__slow", {"seconds": 60})]), Reply(content="gave up"))
    async with chat(llm) as client:
        agent = Agent(client, hub=demo_hub, config=AgentConfig(tool_timeout=1.0))
        result = await agent.run("wait")
    assert result.final_text == "gave up"
    (msg,) = tool_messages(llm.requests[1])
    assert "did not finish within 1s" in msg["content"]
    assert result.steps[0].tool_calls[0].is_error


async def test_llm_500_then_recovery(llm, demo_hub):
    llm.add(
        Fail(500),
        Reply(tool_calls=[call("demo__add", {"a": 1, "b": 1})]),
        Fail(503, headers={"Retry-After": "0"}),
        Reply(content="2"),
    )
    async with chat(llm) as client:
        result = await Agent(client, hub=demo_hub).run("1+1")
    assert result.final_text == "2"
    assert len(llm.requests) == 4
    assert tool_messages(llm.requests[3])[0]["content"] == "2"


async def test_llm_down_for_good_is_an_llm_error(llm, demo_hub):
    llm.add(*[Fail(500)] * 3)
    async with chat(llm, max_retries=2) as client:
        with pytest.raises(LLMError):
            await Agent(client, hub=demo_hub).run("anything")


async def test_garbage_tool_call_json_is_repaired_by_the_constrained_retry(llm, demo_hub):
    def constrained(body):
        assert body["response_format"]["type"] == "json_schema"
        return Reply(content=json.dumps({"name": "demo__add", "arguments": {"a": 2, "b": 2}}))

    llm.add(
        Reply(tool_calls=[call("demo__add", '{"a": 2,, "b": two')]),
        constrained,
        Reply(content="4"),
    )
    async with chat(llm) as client:
        result = await Agent(client, hub=demo_hub).run("2+2")
    assert result.final_text == "4"
    assert result.steps[0].repaired
    assert tool_messages(llm.requests[2])[0]["content"] == "4"


async def test_garbage_that_stays_garbage_is_a_clear_error(llm, demo_hub):
    llm.add(
        Reply(tool_calls=[call("demo__add", "{{{")]),
        Reply(content="still not json"),
    )
    async with chat(llm) as client:
        with pytest.raises(LLMError, match="no valid tool call"):
            await Agent(client, hub=demo_hub).run("2+2")


async def test_max_steps(llm, demo_hub):
    llm.default = Reply(tool_calls=[call("demo__echo", {"text": "again"})])
    async with chat(llm) as client:
        agent = Agent(client, hub=demo_hub, config=AgentConfig(max_steps=3))
        with pytest.raises(MaxStepsExceeded) as info:
            await agent.run("loop forever")
    assert "max-steps 3" in str(info.value)
    partial = info.value.result
    assert partial.stop_reason == "max_steps"
    assert len(partial.steps) == 3 and partial.usage.model_calls == 3
    assert partial.usage.tool_calls == 3
    assert len(llm.requests) == 3


async def test_filters_limit_what_an_agent_sees_and_may_call(llm, demo_hub):
    llm.add(
        Reply(tool_calls=[call("demo__echo", {"text": "x"})]),
        Reply(content="ok"),
    )
    only_echo = AgentConfig(
        tool_filter=ToolFilter(allow=("demo__echo", "demo__add"), deny=("*add",))
    )
    async with chat(llm) as client:
        agent = Agent(client, hub=demo_hub, config=only_echo)
        assert agent.tool_names == ["demo__echo"]
        await agent.run("echo")
    assert [t["function"]["name"] for t in llm.requests[0]["tools"]] == ["demo__echo"]


async def test_agents_share_the_prompt_prefix(llm, demo_hub):
    llm.default = Reply(content="fine")
    async with chat(llm) as client:
        await Agent(client, hub=demo_hub, config=AgentConfig(name="a")).run("task one")
        await Agent(client, hub=demo_hub, config=AgentConfig(name="b")).run("task two")
    one, two = llm.requests
    assert one["messages"][0] == two["messages"][0]
    assert one["tools"] == two["tools"]


async def test_several_agents_send_requests_concurrently(demo_hub):
    with ScriptedLLM(latency=1.0, default=Reply(content="answer")) as server:
        async with chat(server) as client:
            agents = [
                Agent(client, hub=demo_hub, config=AgentConfig(name=f"a{i}")) for i in range(4)
            ]
            results = await asyncio.gather(*(a.run(f"task {i}") for i, a in enumerate(agents)))
        assert [r.final_text for r in results] == ["answer"] * 4
        assert server.max_in_flight == 4  # all four requests were at the server at once


async def test_agent_without_tools(llm):
    llm.add(Reply(content="just text"))
    async with chat(llm) as client:
        result = await Agent(client).run("hello")
    assert result.final_text == "just text"
    assert "tools" not in llm.requests[0]
