"""Tool calls the server's parser missed or got wrong, and the constrained retry."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from runtime.client import ChatClient
from runtime.errors import LLMError
from tests.client.conftest import ASK, TOOLS, WEATHER
from tests.scripted_llm import Reply, ScriptedLLM, Stream, call, chunk, tool_delta

VALID = {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}


def constrained_ok(body: dict[str, Any]) -> Reply:
    """What vLLM does under ``response_format``: JSON that fits the schema, as content."""
    if "response_format" not in body:
        return Reply(content="(no response_format: not a constrained request)")
    return Reply(content=json.dumps(VALID))


# -- calls left in the content ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", '
        '"days": 2}}\n</tool_call>',
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}]',
        '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris", "days": 2}',
        '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}',
        '```json\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}\n```',
        '{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\", \\"days\\": 2}"}',
    ],
    ids=["hermes", "mistral-list", "mistral-args", "llama-python-tag", "fenced", "string-args"],
)
async def test_call_left_in_content_is_extracted(
    llm: ScriptedLLM, client: ChatClient, text: str
) -> None:
    llm.add(Reply(content=text, piece=5))
    done = await client.complete(ASK, tools=TOOLS)
    assert [(c.name, c.arguments) for c in done.tool_calls] == [
        ("get_weather", {"city": "Paris", "days": 2})
    ]
    assert done.repaired and done.repair == "content"
    assert done.finish_reason == "tool_calls"
    assert len(llm.requests) == 1  # no retry was needed
    assert "get_weather" not in (done.content or "")


async def test_text_around_a_hermes_call_is_kept(llm: ScriptedLLM, client: ChatClient) -> None:
    llm.add(
        Reply(
            content='Checking now. <tool_call>{"name": "time_now", "arguments": {}}</tool_call>'
            ' <tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'
        )
    )
    done = await client.complete(ASK, tools=TOOLS)
    assert [c.name for c in done.tool_calls] == ["time_now", "get_weather"]
    assert done.content == "Checking now."
    message = done.as_message()
    assert message["content"] == "Checking now."
    assert json.loads(message["tool_calls"][1]["function"]["arguments"]) == {"city": "Oslo"}


async def test_call_in_reasoning_when_content_is_empty(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(
        Reply(
            reasoning='I should call the tool. <tool_call>{"name": "get_weather", '
            '"arguments": {"city": "Paris"}}</tool_call>'
        )
    )
    done = await client.complete(ASK, tools=TOOLS)
    assert [(c.name, c.arguments) for c in done.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert done.repair == "content"
    assert done.reasoning == "I should call the tool."


async def test_reasoning_about_a_call_then_an_answer_is_an_answer(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    thought = 'Maybe <tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'
    llm.add(Reply(reasoning=thought, content="No need: it is sunny in Paris."))
    done = await client.complete(ASK, tools=TOOLS)
    assert done.tool_calls == () and done.content == "No need: it is sunny in Paris."
    assert done.reasoning == thought and len(llm.requests) == 1


async def test_plain_answer_with_unrelated_json_is_not_a_call(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    text = 'Here is the data: {"name": "Paris", "population": 2100000}'
    llm.add(Reply(content=text))
    done = await client.complete(ASK, tools=TOOLS)
    assert done.tool_calls == () and done.content == text and not done.repaired
    assert len(llm.requests) == 1


async def test_tool_choice_none_leaves_content_alone(llm: ScriptedLLM, client: ChatClient) -> None:
    text = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'
    llm.add(Reply(content=text))
    done = await client.complete(ASK, tools=TOOLS, tool_choice="none")
    assert done.tool_calls == () and done.content == text


# -- parser-level fixes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        json.dumps(json.dumps({"city": "Paris"})),  # double-encoded
        '{"city": "Paris"}{"city": "Paris"}',  # the whole JSON sent again at the end
        '  {"city": "Paris"} <|eot_id|>',  # junk after the object
    ],
    ids=["double-encoded", "repeated", "trailing-junk"],
)
async def test_parser_output_is_fixed_without_a_retry(
    llm: ScriptedLLM, client: ChatClient, arguments: str
) -> None:
    llm.add(Reply(tool_calls=[call("get_weather", arguments)]))
    done = await client.complete(ASK, tools=TOOLS)
    assert [(c.name, c.arguments) for c in done.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert done.repair == "parser" and len(llm.requests) == 1


async def test_name_doubled_by_a_streaming_parser_is_fixed(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(
        Stream(
            [
                chunk(tool_calls=[tool_delta(0, id="c", name="time_now")]),
                chunk(tool_calls=[tool_delta(0, name="time_now_")]),  # not a plain repeat
                chunk(tool_calls=[tool_delta(0, arguments="{}")]),
                chunk(finish_reason="tool_calls"),
            ]
        )
    )
    llm.add(constrained_ok)
    done = await client.complete(ASK, tools=TOOLS)
    # "time_nowtime_now_" is no tool: the constrained retry has to step in.
    assert done.repair == "constrained" and done.tool_calls[0].name == "get_weather"

    llm.add(
        Reply(tool_calls=[call("time_nowtime_now", {})]),  # whole name sent twice, concatenated
    )
    done = await client.complete(ASK, tools=TOOLS)
    assert done.tool_calls[0].name == "time_now" and done.repair == "parser"


# -- the constrained retry -------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        Reply(tool_calls=[call("get_weather", {"city": "Paris", "days": 0})]),  # schema
        Reply(tool_calls=[call("get_weather", {"town": "Paris"})]),  # missing + extra key
        Reply(tool_calls=[call("get_weather", '{"city": "Par')]),  # garbage JSON
        Reply(tool_calls=[call("get_wether", {"city": "Paris"})]),  # unknown tool
        Reply(content='<tool_call>{"name": "get_weather", "arguments": {"city": </tool_call>'),
        Reply(content='{"name": "get_weather", "arguments": {"days": "two"}}'),
    ],
    ids=["schema", "missing-key", "garbage-json", "unknown-tool", "broken-tag", "bare-invalid"],
)
async def test_invalid_call_gets_a_constrained_retry(
    llm: ScriptedLLM, client: ChatClient, bad: Reply
) -> None:
    llm.add(bad, constrained_ok)
    done = await client.complete(ASK, tools=TOOLS, max_tokens=200)
    assert [(c.name, c.arguments) for c in done.tool_calls] == [
        ("get_weather", {"city": "Paris", "days": 2})
    ]
    assert done.repaired and done.repair == "constrained"
    assert done.finish_reason == "tool_calls"
    first, retry = llm.requests
    assert "response_format" not in first
    assert retry["messages"] == first["messages"]  # same prefix: the prefix cache still hits
    assert retry["tools"] == TOOLS and retry["tool_choice"] == "none"
    assert retry["max_tokens"] == 200
    fmt = retry["response_format"]
    assert fmt["type"] == "json_schema"
    schema = fmt["json_schema"]["schema"]
    assert {b["properties"]["name"]["const"] for b in schema["anyOf"]} == {
        "get_weather",
        "time_now",
    }
    jsonschema.validate(VALID, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "get_weather", "arguments": {"days": 2}}, schema)
    # usage covers both requests
    assert done.usage.prompt_tokens > 0 and done.usage.completion_tokens > 0
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens


async def test_required_tool_choice_and_plain_text_retries(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(Reply(content="I think it is sunny."), constrained_ok)
    done = await client.complete(ASK, tools=TOOLS, tool_choice="required")
    assert done.repair == "constrained" and done.tool_calls[0].name == "get_weather"


async def test_named_tool_choice_constrains_to_that_tool(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(Reply(content="no call"), constrained_ok)
    choice = {"type": "function", "function": {"name": "get_weather"}}
    done = await client.complete(ASK, tools=TOOLS, tool_choice=choice)
    schema = llm.requests[1]["response_format"]["json_schema"]["schema"]
    assert [b["properties"]["name"]["const"] for b in schema["anyOf"]] == ["get_weather"]
    assert done.tool_calls[0].arguments == {"city": "Paris", "days": 2}


async def test_a_demanded_call_cut_off_at_max_tokens_gets_the_constrained_retry(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    # A weak model under a grammar that leaves the arguments free runs to max_tokens: the
    # demanded call is retried constrained instead of failing as truncation.
    cut = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paaaaaaaa'
    llm.add(Reply(content=cut, finish_reason="length"), constrained_ok)
    done = await client.complete(ASK, tools=TOOLS, tool_choice="required", max_tokens=16)
    assert done.repair == "constrained" and done.tool_calls[0].arguments == VALID["arguments"]
    assert "response_format" in llm.requests[1] and llm.requests[1]["max_tokens"] == 16


async def test_a_demanded_call_truncated_again_when_constrained_is_an_error(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    cut = Reply(content='{"name": "get_weather", "arguments": {"city": "Pa', finish_reason="length")
    llm.add(cut, cut)
    with pytest.raises(LLMError, match=r"truncated.*\(16\)"):
        await client.complete(ASK, tools=TOOLS, tool_choice="required", max_tokens=16)
    assert len(llm.requests) == 2


async def test_raw_control_characters_in_a_string_are_read(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    # Constrained decoding (xgrammar) lets a tab or another control character into a JSON
    # string unescaped; strict JSON refuses it, which used to lose the whole call.
    args = '{"city": "Pa\tris\x0b", "days": 2}'
    llm.add(Reply(tool_calls=[call("get_weather", args)]))
    llm.add(Reply(content='{"name": "get_weather", "arguments": {"city": "Li\x01lle"}}'))
    done = await client.complete(ASK, tools=TOOLS)
    assert done.tool_calls[0].arguments == {"city": "Pa\tris\x0b", "days": 2}
    assert done.repair == "parser" and len(llm.requests) == 1
    again = await client.complete(ASK, tools=TOOLS)
    assert again.repair == "content" and again.tool_calls[0].arguments == {"city": "Li\x01lle"}


async def test_constrained_answer_parsed_by_the_server_is_accepted(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    # A llama3_json-style parser may turn the constrained JSON into a real tool call.
    llm.add(
        Reply(tool_calls=[call("get_weather", "{oops")]),
        Reply(tool_calls=[call("get_weather", {"city": "Paris"})]),
    )
    done = await client.complete(ASK, tools=TOOLS)
    assert done.repair == "constrained" and done.tool_calls[0].arguments == {"city": "Paris"}


async def test_still_invalid_after_the_constrained_retry_is_an_error(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(
        Reply(tool_calls=[call("get_weather", {"city": ""})]),
        Reply(content='{"name": "get_weather", "arguments": {"city": 5}}'),
    )
    with pytest.raises(LLMError) as err:
        await client.complete(ASK, tools=TOOLS)
    message = str(err.value)
    assert "constrained" in message and "get_weather" in message and "\n" not in message
    assert len(llm.requests) == 2  # one retry only


async def test_refs_in_tool_schemas_survive_the_constrained_schema(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "book",
            "parameters": {
                "type": "object",
                "$defs": {"Date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}},
                "properties": {"day": {"$ref": "#/$defs/Date"}},
                "required": ["day"],
            },
        },
    }
    answer = {"name": "book", "arguments": {"day": "2025-01-31"}}
    llm.add(
        Reply(tool_calls=[call("book", {"day": "tomorrow"})]),
        lambda body: Reply(content=json.dumps(answer)),
    )
    done = await client.complete(ASK, tools=[tool, WEATHER])
    assert done.tool_calls[0].arguments == {"day": "2025-01-31"}
    schema = llm.requests[1]["response_format"]["json_schema"]["schema"]
    jsonschema.validate(answer, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "book", "arguments": {"day": "tomorrow"}}, schema)
