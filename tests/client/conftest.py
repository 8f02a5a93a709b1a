"""Fixtures for the chat-client tests: a scripted OpenAI-compatible server and clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from runtime.client import ChatClient
from tests.scripted_llm import ScriptedLLM

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather forecast for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 1},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
CLOCK = {
    "type": "function",
    "function": {"name": "time_now", "description": "The current time.", "parameters": {}},
}
TOOLS = [WEATHER, CLOCK]
ASK = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Weather in Paris?"},
]


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    """A started scripted server with an empty script (``llm.add(...)`` steps)."""
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
async def make_client(llm: ScriptedLLM) -> AsyncIterator[Callable[..., ChatClient]]:
    """Build clients against ``llm`` (fast backoff); all are closed after the test."""
    clients: list[ChatClient] = []

    def make(**kwargs: Any) -> ChatClient:
        kwargs.setdefault("backoff_s", 0.01)
        kwargs.setdefault("timeout", 30)
        client = ChatClient(kwargs.pop("base_url", llm.url), "scripted", **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(make_client: Callable[..., ChatClient]) -> ChatClient:
    """A client with the default retry policy and fast backoff."""
    return make_client()
