"""Helpers for the coordination tests: scripted agents that read their prompt like a model.

Each agent usually gets its own ``ScriptedLLM`` whose script is a function of the request,
so a test's outcome does not depend on which agent's reply lands first.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from runtime.client import ChatClient
from runtime.coordination import Member
from runtime.prompts import COORDINATION_REMINDER, PRESENTATION_SYSTEM
from runtime.tools import ServerSpec, ToolHub
from tests.scripted_llm import Reply, ScriptedLLM, call

NOTES_SERVER = Path(__file__).with_name("annotated_server.py")
_BLOCK = re.compile(r"<(agent\d+)> (.*?) <end of \1>", re.DOTALL)

Script = Callable[[dict[str, Any]], Any]


def answers_in(body: dict[str, Any]) -> dict[str, str]:
    """The current answers shown in a coordination request (agent id -> content)."""
    opening = body["messages"][1]["content"]
    return dict(_BLOCK.findall(opening))


def presenting(body: dict[str, Any]) -> bool:
    return body["messages"][0]["content"].startswith(PRESENTATION_SYSTEM)


def reminded(body: dict[str, Any]) -> bool:
    return any(m.get("content") == COORDINATION_REMINDER for m in body["messages"])


def new_answer(text: str) -> Reply:
    return Reply(tool_calls=[call("new_answer", {"content": text})])


def vote(agent: str, reason: str = "the best one") -> Reply:
    return Reply(tool_calls=[call("vote", {"agent_id": agent, "reason": reason})])


def holder_of(answers: dict[str, str], marker: str) -> str | None:
    return next((a for a, text in answers.items() if marker in text), None)


def proposer(mine: str, *, best: str = "BEST", final: str | None = None) -> Script:
    """An agent that answers ``mine`` until it is on the board, then votes for the answer
    containing ``best`` (else the first), and presents ``final`` (default: ``mine``)."""

    def script(body: dict[str, Any]) -> Reply:
        if presenting(body):
            return Reply(content=final or mine)
        answers = answers_in(body)
        if mine not in answers.values():
            return new_answer(mine)
        return vote(holder_of(answers, best) or next(iter(answers)))

    return script


async def members_for(
    stack: AsyncExitStack, servers: list[ScriptedLLM], **client_options: Any
) -> list[Member]:
    """One Member per server, named m1, m2, ... (anonymised as agent1, agent2, ...)."""
    client_options.setdefault("backoff_s", 0.01)
    out = []
    for i, server in enumerate(servers, start=1):
        client = await stack.enter_async_context(
            ChatClient(server.url, "scripted", **client_options)
        )
        out.append(Member(name=f"m{i}", client=client, model=f"model-{i}"))
    return out


@pytest.fixture
async def notes_hub(tmp_path: Path) -> AsyncIterator[ToolHub]:
    """A ToolHub over the annotated server (tools ``notes__lookup``, ``notes__write_note``,
    ``notes__count``)."""
    spec = ServerSpec(name="notes", command=(sys.executable, str(NOTES_SERVER)))
    async with ToolHub([spec], log_dir=tmp_path / "tool-logs", call_timeout=30) as hub:
        yield hub
