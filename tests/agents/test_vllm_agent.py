"""One agent step end to end on a real vLLM server (CPU wheel, tiny random-weight model).

The model's weights are random, so what it writes is garbage: with ``tool_choice=required``
vLLM starts a ``<tool_call>`` whose JSON is nonsense (``"arguments": true``, stray keys).
The client must see that the call is unusable and retry once with ``response_format:
json_schema``, which vLLM enforces; the resulting call goes to a real MCP server (the
tests' own, over stdio) and its result lands in the history.
"""

from __future__ import annotations

import pytest

from runtime.agent import Agent, AgentConfig
from runtime.client import ChatClient
from runtime.tools import ToolFilter, ToolHub

from .conftest import demo_spec

pytestmark = pytest.mark.vllm


async def test_constrained_retry_yields_a_real_tool_call(vllm_server, tmp_path):
    from runtime.models import pick_endpoint

    config = AgentConfig(
        tool_filter=ToolFilter(allow=("demo__add",)),
        tool_choice="required",
        max_tokens=400,
        # seed: the garbage is the same on every run; stop: end the garbage call after its
        # first </tool_call> instead of at max_tokens (which would be truncation).
        request_extra={"seed": 0, "stop": ["</tool_call>"]},
    )
    async with (
        ToolHub([demo_spec()], log_dir=tmp_path) as hub,
        ChatClient(await pick_endpoint(vllm_server), vllm_server.model, timeout=300) as client,
    ):
        agent = Agent(client, hub=hub, config=config)
        history = agent.initial_messages("Add two numbers with the tool.")
        step, usage = await agent.step(history)

    assert step.repaired, "the first answer should have needed the constrained retry"
    (record,) = step.tool_calls
    assert record.name == "demo__add" and not record.is_error
    a, b = record.arguments["a"], record.arguments["b"]
    assert isinstance(a, int) and isinstance(b, int)
    assert record.result == str(a + b)  # the real MCP server computed it
    assistant, tool_message = history[-2], history[-1]
    assert assistant["role"] == "assistant"
    assert assistant["tool_calls"][0]["function"]["name"] == "demo__add"
    assert tool_message == {
        "role": "tool",
        "tool_call_id": assistant["tool_calls"][0]["id"],
        "content": str(a + b),
    }
    # Both requests (the garbage one and the constrained retry) are counted.
    assert usage.model_calls == 1 and usage.prompt_tokens > 0 and usage.tool_calls == 1
