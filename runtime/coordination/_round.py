"""One agent's round: from a fresh prompt (task + current answers) to one workflow call.

The agent may call its MCP tools in between (at most ``max_steps`` model calls). A turn that
ends without a workflow call gets one reminder. A request that demands a workflow call (the
reminder, or every request under ``require_tool_call``) is the constrained one:
``tool_choice: required``, ``parallel_tool_calls: false`` and the workflow tools marked
``strict``, so a server with constrained decoding (vLLM) generates exactly one call whose
arguments match the schema, ``maxLength`` included, and ``max_tokens`` fits the longest such
call. A server that refuses any of that with HTTP 400/422 is asked again the plain way, and
never asked so again. Any failure raises ``RoundFailed``: the orchestrator drops the agent.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from runtime.agent import RunUsage
from runtime.coordination._model import CoordinationEvent, EventSink, Member
from runtime.coordination._state import Answer
from runtime.coordination._workflow import (
    NEW_ANSWER,
    WORKFLOW_TOOLS,
    WorkflowCall,
    read_workflow_call,
    workflow_call_token_bound,
    workflow_tools,
)
from runtime.errors import LLMError
from runtime.prompts import (
    COORDINATION_ANSWER_BLOCK,
    COORDINATION_ANSWERS,
    COORDINATION_NO_ANSWERS,
    COORDINATION_REMINDER,
    COORDINATION_SYSTEM,
    COORDINATION_TASK,
)

if TYPE_CHECKING:
    from runtime.client import Completion, ToolCall
    from runtime.tools import ToolHub, ToolOutcome

# The server refused a request parameter (tool_choice, response_format): ask without it.
_REFUSED = re.compile(r"answered HTTP (400|422)\b")
# ... and, for a request without tool_choice, only when the refusal is about the format of
# the client's constrained retry (a 400 for, say, an over-long prompt is a real failure).
_FORMAT = re.compile(
    r"response_format|json_schema|structured|guided|unsupported|not supported", re.I
)


class RoundFailed(Exception):
    """The agent could not finish its round; ``str(exc)`` says why (one line)."""


class BudgetExhausted(Exception):
    """The team's total token budget is spent: coordination stops and presents."""


@dataclass
class AgentStats:
    """Mutable per-agent counters, kept by the orchestrator across rounds (a cancelled
    round's spending still counts)."""

    usage: RunUsage = field(default_factory=RunUsage)
    rounds: int = 0
    restarts: int = 0
    work_s: float = 0.0
    tool_choice_refused: bool = False


@dataclass(frozen=True, kw_only=True)
class RoundSetup:
    """What a round needs besides the member: the task, tools and limits."""

    task: str
    hub: ToolHub | None
    mcp_tools: Sequence[dict[str, Any]]  # this agent's MCP tools (sorted, shared layout)
    max_steps: int
    max_answers: int | None
    tool_timeout: float | None
    agent_token_budget: int | None
    token_budget: int | None = None
    require_tool_call: bool = False
    max_answer_chars: int | None = None
    spent: Callable[[], int] = lambda: 0  # tokens spent by the whole team so far


@dataclass(frozen=True)
class _Tools:
    """The tools of one round, as the plain request and the demanding request send them."""

    plain: list[dict[str, Any]]
    strict: list[dict[str, Any]]
    call_tokens: int | None  # enough max_tokens for the longest workflow call, if bounded


def _round_tools(setup: RoundSetup, holders: Sequence[str], answered: int) -> _Tools:
    chars = setup.max_answer_chars
    strict = workflow_tools(holders, max_answer_chars=chars, strict=True)
    if holders and setup.max_answers is not None and answered >= setup.max_answers:
        # Out of answers: the constrained request offers only what would be accepted, or a
        # grammar-driven model may pick new_answer every time and never vote. (The plain
        # request keeps it: a model that calls it reads why it was refused.)
        strict = [t for t in strict if t["function"]["name"] != NEW_ANSWER]
    return _Tools(
        plain=[*setup.mcp_tools, *workflow_tools(holders, max_answer_chars=chars)],
        strict=[*setup.mcp_tools, *strict],
        # An MCP tool's call is not bounded by its schema: no bound when one is offered.
        call_tokens=None
        if setup.mcp_tools
        else workflow_call_token_bound(holders, max_answer_chars=chars),
    )


def coordination_messages(
    member: Member, task: str, answers: Sequence[Answer]
) -> list[dict[str, Any]]:
    """The opening messages of a round. Everything shared comes first (system prompt, task,
    answers); only a member's own system message differs, and it comes last in the system
    prompt, so agents on one server share the longest possible prefix."""
    system = COORDINATION_SYSTEM
    if member.system_message and member.system_message.strip():
        system += "\n\n" + member.system_message.strip()
    if answers:
        blocks = "\n\n".join(
            COORDINATION_ANSWER_BLOCK.format(agent_id=a.agent, content=a.content) for a in answers
        )
        board = COORDINATION_ANSWERS.format(answers=blocks)
    else:
        board = COORDINATION_NO_ANSWERS
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": COORDINATION_TASK.format(task=task) + "\n\n" + board},
    ]


async def run_round(
    agent_id: str,
    member: Member,
    setup: RoundSetup,
    answers: Sequence[Answer],
    answered: int,
    stats: AgentStats,
    emit: EventSink,
) -> WorkflowCall:
    """Run one round of ``member`` (seen as ``agent_id``) and return its workflow call."""
    holders = [a.agent for a in answers]
    tools = _round_tools(setup, holders, answered)
    mcp_names = frozenset(t["function"]["name"] for t in setup.mcp_tools)
    history = coordination_messages(member, setup.task, answers)
    for message in history:
        emit(CoordinationEvent(agent=agent_id, kind="message", data=message))
    reminded = False
    for _ in range(setup.max_steps):
        demand = (reminded or setup.require_tool_call) and not stats.tool_choice_refused
        completion = await _complete(member, history, tools, demand, stats, setup)
        calls: list[ToolCall] = []
        if completion is not None:
            message = completion.as_message()
            history.append(message)
            emit(CoordinationEvent(agent=agent_id, kind="message", data=message))
            calls = list(completion.tool_calls or ())
        workflow = [c for c in calls if c.name in WORKFLOW_TOOLS]
        others = [c for c in calls if c.name not in WORKFLOW_TOOLS]
        replies: dict[str, str] = {}
        if others:
            outcomes = await asyncio.gather(*(_call_tool(setup, c, mcp_names) for c in others))
            for call, outcome in zip(others, outcomes, strict=True):
                replies[call.id] = outcome.text
                stats.usage = replace(
                    stats.usage,
                    tool_calls=stats.usage.tool_calls + 1,
                    tool_errors=stats.usage.tool_errors + int(outcome.is_error),
                    tool_time_s=stats.usage.tool_time_s + outcome.duration_s,
                )
                emit(
                    CoordinationEvent(
                        agent=agent_id,
                        kind="tool",
                        text=call.name,
                        data={"arguments": call.arguments, "result": outcome.text[:2000],
                              "is_error": outcome.is_error},
                    )
                )  # fmt: skip
        chosen: WorkflowCall | None = None
        for call in workflow:
            if chosen is not None:
                replies[call.id] = "Tool error: only one workflow call per turn counts"
                continue
            read = read_workflow_call(call.name, call.arguments, holders)
            if isinstance(read, WorkflowCall) and read.kind == "new_answer":
                if setup.max_answers is not None and answered >= setup.max_answers:
                    read = (
                        f"Tool error: you have given the most answers allowed "
                        f"({setup.max_answers}); vote for the best current answer instead"
                    )
            if isinstance(read, str):
                replies[call.id] = read
            else:
                chosen = read
                replies[call.id] = "recorded"
        # Every call gets its tool message, in the order of the calls (a valid history).
        for call in calls:
            reply = {"role": "tool", "tool_call_id": call.id, "content": replies[call.id]}
            history.append(reply)
            emit(CoordinationEvent(agent=agent_id, kind="message", data=reply))
        if chosen is not None:
            return chosen
        if calls:
            continue  # tool results (or a workflow call's error) for the model to act on
        if reminded:
            raise RoundFailed("ended its turn without a workflow call, even when reminded")
        reminded = True
        reminder = {"role": "user", "content": COORDINATION_REMINDER}
        history.append(reminder)
        emit(CoordinationEvent(agent=agent_id, kind="message", data=reminder))
    raise RoundFailed(f"reached --max-steps {setup.max_steps} in one round without a workflow call")


async def _complete(
    member: Member,
    history: list[dict[str, Any]],
    tools: _Tools,
    demand: bool,
    stats: AgentStats,
    setup: RoundSetup,
) -> Completion | None:
    """One model call with the fallbacks for servers that refuse a parameter; None when the
    model's tool call was unusable and its constrained retry was refused. ``demand``: the
    constrained request for exactly one workflow call (see the module docstring)."""
    # Checked before each request, so the call that crossed the budget still counts (its
    # answer is on the board) and no request starts once the budget is spent.
    if setup.token_budget is not None and setup.spent() >= setup.token_budget:
        raise BudgetExhausted(f"the team's token budget of {setup.token_budget} is spent")
    extra = dict(member.request_extra) if member.request_extra else None
    offered, tool_choice, max_tokens = tools.plain, None, member.max_tokens
    if demand:
        offered, tool_choice = tools.strict, "required"
        # One workflow call per turn counts; with this vLLM's grammar also ends after the
        # first call instead of allowing a list of them. The member's own extra wins.
        extra = {"parallel_tool_calls": False, **(extra or {})}
        if tools.call_tokens is not None:
            max_tokens = max(max_tokens or 0, tools.call_tokens)
    t0 = time.perf_counter()
    try:
        completion = await member.client.complete(
            history,
            tools=offered,
            tool_choice=tool_choice,
            temperature=member.temperature,
            max_tokens=max_tokens,
            extra=extra,
        )
    except LLMError as exc:
        refused = _REFUSED.search(str(exc))
        if not refused or (tool_choice is None and not _FORMAT.search(str(exc))):
            raise RoundFailed(str(exc)) from exc
        if demand:
            # tool_choice, strict tools or parallel_tool_calls (or the constrained retry's
            # response_format) were refused: ask the plain way, and never demand again.
            stats.tool_choice_refused = True
            return await _complete(member, history, tools, False, stats, setup)
        # The plain request went through but its constrained retry (response_format) was
        # refused: the model's call was unusable; the caller's reminder asks once more.
        stats.usage = replace(stats.usage, model_calls=stats.usage.model_calls + 1)
        return None
    stats.usage = stats.usage.with_completion(completion, time.perf_counter() - t0)
    budget = setup.agent_token_budget
    if budget is not None and stats.usage.total_tokens > budget:
        raise RoundFailed(
            f"used {stats.usage.total_tokens} tokens, over its token budget of {budget}"
        )
    return completion


async def _call_tool(setup: RoundSetup, call: ToolCall, allowed: frozenset[str]) -> ToolOutcome:
    from runtime.tools import ToolOutcome

    if setup.hub is None or call.name not in allowed:
        hint = ", ".join(sorted(allowed | WORKFLOW_TOOLS))
        return ToolOutcome(
            name=call.name,
            text=f"Tool error: there is no tool named {call.name!r}. Available tools: {hint}",
            is_error=True,
        )
    if not isinstance(call.arguments, dict):
        return ToolOutcome(
            name=call.name,
            text="Tool error: the arguments were not a JSON object; call the tool again "
            "with arguments matching its schema",
            is_error=True,
        )
    return await setup.hub.call(
        call.name, call.arguments, timeout=setup.tool_timeout, allowed=allowed
    )
