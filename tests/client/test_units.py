"""Small parsing edge cases and the public surface of ``runtime.client``."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import runtime.client
from runtime.client import ChatClient, chat_endpoint
from runtime.client._assemble import StreamAssembler
from runtime.client._schema import argument_problem, constrained_schema, tool_params
from runtime.client._sse import SSEDecoder
from runtime.errors import LLMError
from tests.client.conftest import ASK, TOOLS
from tests.scripted_llm import chunk, tool_delta


def test_public_surface() -> None:
    assert sorted(runtime.client.__all__) == [
        "ChatClient",
        "Completion",
        "RepairKind",
        "ToolCall",
        "Usage",
        "chat_endpoint",
        "normalize_history",
    ]
    for name in runtime.client.__all__:
        assert getattr(runtime.client, name) is not None


def test_import_is_light() -> None:
    code = (
        "import sys, runtime.client; "
        "print(sorted(m for m in ('jsonschema', 'mcp', 'vllm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1/chat/completions"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1/chat/completions"),
        ("http://h:1/v1/", "http://h:1/v1/chat/completions"),
        ("https://api.example.com/openai/v1", "https://api.example.com/openai/v1/chat/completions"),
        ("http://h:1/v1/chat/completions", "http://h:1/v1/chat/completions"),
    ],
)
def test_chat_endpoint(base: str, url: str) -> None:
    assert chat_endpoint(base) == url


def test_bad_settings_are_clear_errors() -> None:
    with pytest.raises(LLMError, match="not an http"):
        chat_endpoint("127.0.0.1:8000")
    with pytest.raises(LLMError, match="max_retries"):
        ChatClient("http://h", "m", max_retries=-1)


def test_sse_decoder_rules() -> None:
    stream = b": ping\n\ndata: a\ndata: b\n\nid: 3\nevent: x\ndata:{}\ndata: [DONE]\n"
    decoder = SSEDecoder()
    got = decoder.feed(stream) + decoder.close()
    assert got == ["a\nb", "{}", "[DONE]"]


@given(
    cuts=st.lists(st.integers(min_value=1, max_value=120), max_size=10),
    newline=st.sampled_from([b"\n", b"\r\n", b"\r"]),
)
def test_sse_decoder_any_read_boundaries(cuts: list[int], newline: bytes) -> None:
    events = ['{"a": "\u00e9t\u00e9"}', '{"b": [1, 2]}', "[DONE]"]  # multi-byte UTF-8
    raw = b"".join(b"data: " + e.encode() + newline + newline for e in events)
    points = sorted({c for c in cuts if c < len(raw)})
    decoder = SSEDecoder()
    got: list[str] = []
    for a, b in zip([0, *points], [*points, len(raw)], strict=True):
        got += decoder.feed(raw[a:b])
    got += decoder.close()
    assert got == events


def test_argument_problem_is_one_line() -> None:
    schema = tool_params(TOOLS)["get_weather"]
    assert argument_problem("get_weather", {"city": "Paris"}, schema) is None
    problem = argument_problem("get_weather", {"city": "Paris", "days": 99}, schema)
    assert problem is not None and "days" in problem and "\n" not in problem
    # a broken schema is not held against the model
    assert argument_problem("x", {"a": 1}, {"type": "no-such-type"}) is None


def test_tool_params_defaults_to_any_object() -> None:
    params = tool_params(TOOLS)
    assert params["time_now"] == {"type": "object"}
    schema = constrained_schema(params)
    assert len(schema["anyOf"]) == 2 and "$defs" not in schema


async def test_mock_transport_non_stream_edge_cases() -> None:
    """Tiny parsing cases that a real server would not produce on demand."""
    replies = iter(
        [
            httpx.Response(200, json={"choices": []}),
            httpx.Response(
                200,
                json={
                    "choices": [
                        {
                            "message": {"content": [{"type": "text", "text": "parts"}]},
                            "finish_reason": None,
                        }
                    ]
                },
            ),
        ]
    )
    transport = httpx.MockTransport(lambda request: next(replies))
    async with ChatClient("http://mock/v1", "m", transport=transport) as client:
        with pytest.raises(LLMError, match="without a choice"):
            await client.complete(ASK, stream=False)
        done = await client.complete(ASK, stream=False)
        assert done.content == "parts" and done.finish_reason == "stop"


@settings(max_examples=150, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=60), max_size=8),
    name_cut=st.integers(min_value=0, max_value=11),
    id_every_chunk=st.booleans(),
    empties=st.lists(st.integers(min_value=0, max_value=10), max_size=3),
)
def test_any_split_assembles_the_same_call(
    cuts: list[int], name_cut: int, id_every_chunk: bool, empties: list[int]
) -> None:
    args = json.dumps({"city": "São Paulo", "days": 3, "note": 'a "quoted" {brace}'})
    name = "get_weather"
    points = sorted({c for c in cuts if c < len(args)})
    pieces = [args[a:b] for a, b in zip([0, *points], [*points, len(args)], strict=True)]
    deltas = []
    if 0 < name_cut < len(name):
        deltas.append(tool_delta(0, id="c9", name=name[:name_cut]))
        deltas.append(tool_delta(0, id="c9" if id_every_chunk else None, name=name[name_cut:]))
    else:
        deltas.append(tool_delta(0, id="c9", name=name))
    for piece in pieces:
        deltas.append(tool_delta(0, id="c9" if id_every_chunk else None, arguments=piece))
    for at in empties:
        deltas.insert(min(at, len(deltas)), {"index": 0})
    asm = StreamAssembler()
    for delta in deltas:
        asm.feed(chunk(tool_calls=[delta]))
    asm.feed(chunk(finish_reason="tool_calls"))
    answer = asm.answer()
    assert len(answer.calls) == 1
    assert answer.calls[0].id == "c9" and answer.calls[0].name == name
    assert json.loads(answer.calls[0].arguments) == json.loads(args)
