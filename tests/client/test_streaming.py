"""Streamed answers: content, reasoning and tool-call deltas split where servers split them."""

from __future__ import annotations

import json

from runtime.client import ChatClient
from tests.client.conftest import ASK, TOOLS
from tests.scripted_llm import Reply, ScriptedLLM, Stream, call, chunk, tool_delta


async def test_streamed_text_is_assembled_with_usage_and_timing(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(Reply(content="It is sunny in Paris today, 24 degrees.", piece=3))
    done = await client.complete(ASK, temperature=0.2, max_tokens=64)
    assert done.content == "It is sunny in Paris today, 24 degrees."
    assert done.tool_calls == ()
    assert done.finish_reason == "stop"
    assert done.usage.completion_tokens > 0
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens
    assert done.ttft_s is not None and 0 <= done.ttft_s <= done.latency_s
    assert not done.repaired and done.repair is None
    sent = llm.requests[0]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["model"] == "scripted"
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 64
    assert "tools" not in sent and "tool_choice" not in sent
    assert done.as_message() == {"role": "assistant", "content": done.content}


async def test_reasoning_is_kept_apart_and_not_sent_back(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(Reply(reasoning="The user wants weather.", content="Sunny."))
    done = await client.complete(ASK)
    assert done.reasoning == "The user wants weather."
    assert done.content == "Sunny."
    assert "reasoning" not in json.dumps(done.as_message())


async def test_tool_call_split_mid_name_and_mid_json_with_empty_deltas(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(
        Stream(
            [
                chunk(role="assistant", content=""),
                chunk(tool_calls=[tool_delta(0, id="call_a1", name="get_wea")]),
                chunk(),  # empty delta
                chunk(tool_calls=[tool_delta(0, name="ther")]),
                chunk(tool_calls=[tool_delta(0, arguments='{"ci')]),
                chunk(tool_calls=[tool_delta(0)]),  # a delta with nothing in it
                chunk(tool_calls=[tool_delta(0, arguments='ty": "Pa')]),
                chunk(tool_calls=[tool_delta(0, arguments='ris", "days"')]),
                chunk(tool_calls=[tool_delta(0, arguments=": 3}")]),
                chunk(finish_reason="tool_calls"),
                chunk(choices=False, usage={"prompt_tokens": 20, "completion_tokens": 9}),
            ]
        )
    )
    done = await client.complete(ASK, tools=TOOLS)
    assert len(done.tool_calls) == 1
    (tc,) = done.tool_calls
    assert (tc.id, tc.name, tc.arguments) == (
        "call_a1",
        "get_weather",
        {"city": "Paris", "days": 3},
    )
    assert done.finish_reason == "tool_calls"
    assert done.usage.total_tokens == 29  # derived when the server leaves it out
    assert not done.repaired
    assert len(llm.requests) == 1
    assert llm.requests[0]["tools"] == TOOLS


async def test_repeated_ids_and_names_in_every_delta(llm: ScriptedLLM, client: ChatClient) -> None:
    pieces = ['{"city":', ' "Oslo"', "}"]
    llm.add(
        Stream(
            [
                chunk(tool_calls=[tool_delta(0, id="c1", name="get_weather", arguments=p)])
                for p in pieces
            ]
            + [chunk(finish_reason="tool_calls")]
        )
    )
    done = await client.complete(ASK, tools=TOOLS)
    assert [(c.id, c.name, c.arguments) for c in done.tool_calls] == [
        ("c1", "get_weather", {"city": "Oslo"})
    ]
    assert not done.repaired  # the assembler itself saw the repeats, no repair needed


async def test_parallel_calls_interleaved_by_index(llm: ScriptedLLM, client: ChatClient) -> None:
    llm.add(
        Stream(
            [
                chunk(tool_calls=[tool_delta(0, id="a", name="get_weather")]),
                chunk(tool_calls=[tool_delta(1, id="b", name="time_now", arguments="")]),
                chunk(tool_calls=[tool_delta(0, arguments='{"city": "Rome"')]),
                chunk(tool_calls=[tool_delta(1, arguments="{}")]),
                chunk(tool_calls=[tool_delta(0, arguments="}")]),
                chunk(finish_reason="tool_calls"),
            ]
        )
    )
    done = await client.complete(ASK, tools=TOOLS)
    assert [(c.id, c.name, c.arguments) for c in done.tool_calls] == [
        ("a", "get_weather", {"city": "Rome"}),
        ("b", "time_now", {}),
    ]


async def test_deltas_without_index_or_ids(llm: ScriptedLLM, client: ChatClient) -> None:
    llm.add(
        Stream(
            [
                chunk(tool_calls=[tool_delta(None, name="get_weather")]),
                chunk(tool_calls=[tool_delta(None, arguments='{"city": "Lima"}')]),
                chunk(tool_calls=[tool_delta(None, name="get_weather")]),
                chunk(tool_calls=[tool_delta(None, arguments='{"city": "Quito"}')]),
                chunk(finish_reason="tool_calls"),
            ]
        )
    )
    done = await client.complete(ASK, tools=TOOLS)
    assert [c.arguments["city"] for c in done.tool_calls] == ["Lima", "Quito"]
    ids = [c.id for c in done.tool_calls]
    assert len(set(ids)) == 2 and all(len(i) == 9 and i.isalnum() for i in ids)


async def test_server_that_numbers_every_call_zero(llm: ScriptedLLM, client: ChatClient) -> None:
    llm.add(
        Stream(
            [
                chunk(tool_calls=[tool_delta(0, id="x1", name="get_weather")]),
                chunk(tool_calls=[tool_delta(0, arguments='{"city": "Bern"}')]),
                chunk(tool_calls=[tool_delta(0, id="x2", name="time_now", arguments="{}")]),
                chunk(finish_reason="tool_calls"),
            ]
        )
    )
    done = await client.complete(ASK, tools=TOOLS)
    assert [(c.id, c.name) for c in done.tool_calls] == [("x1", "get_weather"), ("x2", "time_now")]


async def test_duplicate_ids_in_one_answer_are_made_unique(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(Reply(tool_calls=[call("time_now", {}, id="same"), call("time_now", {}, id="same")]))
    done = await client.complete(ASK, tools=TOOLS)
    ids = [c.id for c in done.tool_calls]
    assert ids[0] == "same" and ids[1] != "same" and len(ids) == 2


async def test_sse_without_blank_lines_and_with_comments(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    def bare(event: dict) -> str:  # one "data:" line, no blank line after it
        return f"data: {json.dumps(event)}\n"

    llm.add(
        Stream(
            [
                ": keep-alive\n\n",
                "event: message\n",
                bare(chunk(content="Hel")),
                bare(chunk(content="lo")),
                bare(chunk(finish_reason="stop")),
            ]
        )
    )
    done = await client.complete(ASK)
    assert done.content == "Hello"


async def test_whole_response_when_not_streaming(llm: ScriptedLLM, client: ChatClient) -> None:
    llm.add(Reply(content="ok", tool_calls=[call("get_weather", {"city": "Kyiv"})]))
    done = await client.complete(ASK, tools=TOOLS, stream=False)
    assert llm.requests[0]["stream"] is False and "stream_options" not in llm.requests[0]
    assert done.content == "ok"
    assert [(c.name, c.arguments) for c in done.tool_calls] == [("get_weather", {"city": "Kyiv"})]
    assert done.ttft_s is None and done.usage.total_tokens > 0


async def test_server_that_ignores_stream_true(llm: ScriptedLLM, client: ChatClient) -> None:
    llm.add(Reply(content="whole", stream=False))
    done = await client.complete(ASK)
    assert done.content == "whole" and done.finish_reason == "stop"


async def test_extra_fields_are_merged_into_the_request(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(Reply(content="ok"))
    await client.complete(
        ASK, tools=TOOLS, tool_choice="auto", extra={"chat_template_kwargs": {"x": 1}, "seed": 7}
    )
    sent = llm.requests[0]
    assert sent["chat_template_kwargs"] == {"x": 1} and sent["seed"] == 7
    assert sent["tool_choice"] == "auto"
