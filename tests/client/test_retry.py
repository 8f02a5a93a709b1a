"""Failures of the endpoint: retries with backoff, and the errors when they run out."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import pytest

from runtime.client import ChatClient
from runtime.errors import LLMError
from tests.client.conftest import ASK, TOOLS
from tests.scripted_llm import (
    Delay,
    Drop,
    Fail,
    Reply,
    ScriptedLLM,
    Stream,
    call,
    chunk,
    tool_delta,
)

PARTIAL = [
    chunk(role="assistant", content=""),
    chunk(tool_calls=[tool_delta(0, id="c1", name="get_weather")]),
    chunk(tool_calls=[tool_delta(0, arguments='{"city": ')]),
]


async def test_500_then_recovery(llm: ScriptedLLM, client: ChatClient) -> None:
    llm.add(Fail(500), Fail(503, body="upstream busy"), Reply(content="back"))
    done = await client.complete(ASK)
    assert done.content == "back"
    assert len(llm.requests) == 3
    assert llm.requests[0] == llm.requests[2]  # the same request again


async def test_429_honours_retry_after(llm: ScriptedLLM, client: ChatClient) -> None:
    llm.add(Fail(429, headers={"Retry-After": "0.3"}), Reply(content="ok"))
    start = time.perf_counter()
    done = await client.complete(ASK)
    assert done.content == "ok"
    assert time.perf_counter() - start >= 0.3


async def test_dropped_connection_mid_stream_then_recovery(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(Drop(PARTIAL), Reply(tool_calls=[call("get_weather", {"city": "Paris"})]))
    done = await client.complete(ASK, tools=TOOLS)
    # Nothing of the dropped attempt leaks into the answer.
    assert [(c.name, c.arguments) for c in done.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert len(llm.requests) == 2


async def test_connection_closed_before_any_response(llm: ScriptedLLM, client: ChatClient) -> None:
    llm.add(Drop(), Reply(content="ok"))
    done = await client.complete(ASK, stream=False)
    assert done.content == "ok" and len(llm.requests) == 2


async def test_stream_that_ends_early_is_retried(llm: ScriptedLLM, client: ChatClient) -> None:
    llm.add(Stream(PARTIAL, done=False), Reply(content="complete"))
    done = await client.complete(ASK, tools=TOOLS)
    assert done.content == "complete" and len(llm.requests) == 2


async def test_error_event_inside_the_stream(llm: ScriptedLLM, client: ChatClient) -> None:
    error = {
        "object": "error",
        "message": "engine died",
        "type": "InternalServerError",
        "code": 500,
    }
    llm.add(Stream([chunk(content="par"), {"error": error}]), Reply(content="ok"))
    assert (await client.complete(ASK)).content == "ok"

    bad = {"object": "error", "message": "prompt too long", "code": 400}
    llm.add(Stream([bad]))
    with pytest.raises(LLMError, match="prompt too long"):
        await client.complete(ASK)


async def test_retries_exhausted(llm: ScriptedLLM, make_client: Callable[..., ChatClient]) -> None:
    client = make_client(max_retries=2)
    llm.add(Fail(500), Drop(PARTIAL), Fail(502))
    with pytest.raises(LLMError) as err:
        await client.complete(ASK)
    message = str(err.value)
    assert "failed after 3 attempt(s)" in message and "HTTP 502" in message
    assert "\n" not in message
    assert len(llm.requests) == 3


async def test_client_errors_are_not_retried(llm: ScriptedLLM, client: ChatClient) -> None:
    body = {
        "object": "error",
        "message": "This model's maximum context length is 4096",
        "code": 400,
    }
    llm.add(Fail(400, body=body))
    with pytest.raises(LLMError, match="HTTP 400: This model's maximum context length is 4096"):
        await client.complete(ASK)
    assert len(llm.requests) == 1


async def test_api_key(make_client: Callable[..., ChatClient]) -> None:
    with ScriptedLLM([Reply(content="in")], api_key="s3cret") as locked:
        good = make_client(base_url=locked.url, api_key="s3cret")
        assert (await good.complete(ASK)).content == "in"
        bad = make_client(base_url=locked.url, api_key="wrong")
        with pytest.raises(LLMError, match="HTTP 401.*check the API key") as err:
            await bad.complete(ASK)
        assert "wrong" not in str(err.value)


async def test_nothing_listening(make_client: Callable[..., ChatClient]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{port}", max_retries=1)
    with pytest.raises(LLMError, match="failed after 2 attempt.*ConnectError"):
        await client.complete(ASK)


async def test_read_timeout_is_retried_then_reported(
    llm: ScriptedLLM, make_client: Callable[..., ChatClient]
) -> None:
    client = make_client(timeout=0.3, max_retries=1)
    llm.add(Delay(1.0, Reply(content="late")), Reply(content="in time"))
    assert (await client.complete(ASK)).content == "in time"
    llm.add(Delay(1.0, Reply(content="late")), Delay(1.0, Reply(content="late")))
    with pytest.raises(LLMError, match="ReadTimeout"):
        await client.complete(ASK)


@pytest.mark.parametrize("calls", [(), (call("get_weather", {"city": "Paris"}),)])
async def test_length_finish_is_truncation(
    llm: ScriptedLLM, client: ChatClient, calls: tuple
) -> None:
    llm.add(Reply(content="It is sunny and", tool_calls=calls, finish_reason="length"))
    with pytest.raises(LLMError, match=r"truncated.*\(16\).*raise max_tokens"):
        await client.complete(ASK, tools=TOOLS, max_tokens=16)
    assert len(llm.requests) == 1  # truncation is not retried: it would truncate again


async def test_garbage_body_is_an_error(llm: ScriptedLLM, client: ChatClient) -> None:
    llm.add(lambda body: Stream(["data: {not json\n\n"] * 1), Fail(200, body="<html>hi</html>"))
    with pytest.raises(LLMError, match="not JSON"):
        # the malformed chunk is retried; the HTML page that follows is not an answer
        await client.complete(ASK)


async def test_concurrent_requests_are_in_flight_together(
    make_client: Callable[..., ChatClient],
) -> None:
    with ScriptedLLM(default=Reply(content="ok"), latency=0.3) as slow:
        client = make_client(base_url=slow.url)
        start = time.perf_counter()
        done = await asyncio.gather(*(client.complete(ASK) for _ in range(8)))
        wall = time.perf_counter() - start
    assert [d.content for d in done] == ["ok"] * 8
    assert slow.max_in_flight == 8
    assert wall < 8 * 0.3  # serial would take 2.4 s at least


async def test_connection_lost_after_done_loses_nothing(
    llm: ScriptedLLM, client: ChatClient
) -> None:
    llm.add(Drop([chunk(content="all here"), chunk(finish_reason="stop"), "data: [DONE]\n\n"]))
    done = await client.complete(ASK)
    assert done.content == "all here" and len(llm.requests) == 1


@pytest.mark.parametrize("stream", [True, False])
async def test_undecodable_body_is_an_llm_error(
    llm: ScriptedLLM, client: ChatClient, stream: bool
) -> None:
    llm.add(Fail(200, body="not gzip at all", headers={"content-encoding": "gzip"}))
    with pytest.raises(LLMError, match="DecodingError"):
        await client.complete(ASK, stream=stream)
