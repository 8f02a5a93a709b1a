"""History normalisation: JSON-object arguments, unique opaque ids, linked tool results."""

from __future__ import annotations

import copy
import json

from runtime.client import ChatClient, ToolCall, normalize_history
from tests.client.conftest import ASK, TOOLS
from tests.scripted_llm import Reply, ScriptedLLM, call


def assistant(*calls: dict) -> dict:
    return {"role": "assistant", "content": None, "tool_calls": list(calls)}


def result(ref: str | None, text: object, name: str | None = None) -> dict:
    out: dict = {"role": "tool", "content": text}
    if ref is not None:
        out["tool_call_id"] = ref
    if name is not None:
        out["name"] = name
    return out


def test_arguments_become_json_object_strings() -> None:
    kept = '{"city":  "Paris"}'  # valid: kept byte for byte (prefix cache)
    history = [
        *ASK,
        assistant(
            {"id": "a", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}},
            {"id": "b", "function": {"name": "get_weather", "arguments": kept}},
            {"id": "c", "function": {"name": "time_now", "arguments": ""}},
            {"id": "d", "function": {"name": "time_now", "arguments": None}},
            {"id": "e", "function": {"name": "get_weather", "arguments": '{"city": "Ro'}},
            {"id": "f", "function": {"name": "get_weather", "arguments": "[1, 2]"}},
        ),
    ]
    out = normalize_history(history)
    calls = out[2]["tool_calls"]
    args = [c["function"]["arguments"] for c in calls]
    assert args[0] == json.dumps({"city": "Rome"})
    assert args[1] == kept
    assert args[2] == args[3] == "{}"
    assert json.loads(args[4]) == {"_raw": '{"city": "Ro'}
    assert json.loads(args[5]) == {"_raw": "[1, 2]"}
    assert all(c["type"] == "function" for c in calls)
    assert all(isinstance(json.loads(a), dict) for a in args)


def test_missing_ids_are_derived_and_results_linked() -> None:
    history = [
        *ASK,
        assistant(
            {"function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
            {"id": "", "function": {"name": "time_now", "arguments": "{}"}},
        ),
        result(None, "12:00", name="time_now"),  # matched by name
        result(None, "sunny"),  # the remaining call
    ]
    before = copy.deepcopy(history)
    out = normalize_history(history)
    assert history == before  # input untouched
    ids = [c["id"] for c in out[2]["tool_calls"]]
    assert all(len(i) == 9 and i.isalnum() for i in ids) and ids[0] != ids[1]
    assert out[3]["tool_call_id"] == ids[1] and out[4]["tool_call_id"] == ids[0]
    # Deterministic: the same history normalises to the same bytes every turn.
    assert normalize_history(history) == out
    assert normalize_history(out) == out


def test_ids_repeated_across_turns_and_within_a_turn() -> None:
    history = [
        *ASK,
        assistant({"id": "call_0", "function": {"name": "time_now", "arguments": "{}"}}),
        result("call_0", "12:00"),
        # a server that restarts its numbering every turn
        assistant(
            {"id": "call_0", "function": {"name": "get_weather", "arguments": '{"city": "A"}'}},
            {"id": "call_0", "function": {"name": "get_weather", "arguments": '{"city": "B"}'}},
        ),
        result("call_0", "rain in A"),
        result("call_0", "sun in B"),
        {"role": "assistant", "content": "A: rain, B: sun."},
    ]
    out = normalize_history(history)
    first = out[2]["tool_calls"][0]["id"]
    second = [c["id"] for c in out[4]["tool_calls"]]
    assert first == "call_0" and out[3]["tool_call_id"] == "call_0"
    assert len({first, *second}) == 3
    assert [out[5]["tool_call_id"], out[6]["tool_call_id"]] == second  # n-th result, n-th call
    assert [m["role"] for m in out] == [m["role"] for m in history]  # never reordered
    assert out[7] == history[7]


def test_tool_content_and_empty_tool_calls() -> None:
    history = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": []},
        assistant(ToolCall("k1", "get_weather", {"city": "Nice"})),
        result("k1", {"temp": 21}),
    ]
    out = normalize_history(history)
    assert out[2] == {"role": "assistant", "content": ""}
    assert out[3]["tool_calls"] == [
        {
            "id": "k1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Nice"}'},
        }
    ]
    assert json.loads(out[4]["content"]) == {"temp": 21}


async def test_complete_sends_normalised_history_and_round_trips(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(Reply(tool_calls=[call("get_weather", {"city": "Paris"})]), Reply(content="Sunny."))
    history = [*ASK]
    first = await client.complete(history, tools=TOOLS)
    history.append(first.as_message())
    history.append(result(first.tool_calls[0].id, "sunny, 24C"))
    history.append({"role": "user", "content": "thanks", "extra_key": 1})
    history[0] = dict(history[0])
    snapshot = copy.deepcopy(history)
    await client.complete(history, tools=TOOLS)
    assert history == snapshot
    sent = llm.requests[1]["messages"]
    assert sent == normalize_history(history)
    assert sent[2] == first.as_message()  # a completion's own message needs no change
    assert sent[3]["tool_call_id"] == first.tool_calls[0].id
    assert sent[:2] == llm.requests[0]["messages"]  # the shared prefix is unchanged
