"""The presentation: the chosen agent writes the final answer, seeing every answer and vote.

The presenter runs the ordinary agent loop with all of its tools (in planning mode, this is
the first time the side-effecting ones are offered). Its answer goes through the autonomy
guard (``runtime.autonomy.guard_final_answer``), whose repair turn continues the presenter's
own conversation. When the presenter fails, the winning answer itself is the final answer
(and the failure is reported): coordination always ends with an answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runtime.agent import Agent, AgentConfig, AgentResult, RunUsage
from runtime.autonomy import GuardOutcome, guard_final_answer
from runtime.coordination._model import CoordinationEvent, CoordinationOptions, EventSink, Member
from runtime.coordination._state import Answer, Vote
from runtime.errors import MgxRuntimeError
from runtime.prompts import COORDINATION_ANSWER_BLOCK, PRESENTATION_SYSTEM, PRESENTATION_TASK

if TYPE_CHECKING:
    from runtime.tools import ToolHub


@dataclass(frozen=True, kw_only=True)
class Presentation:
    text: str
    guard: GuardOutcome
    usage: RunUsage
    error: str | None = None


def presentation_prompt(
    task: str, answers: Sequence[Answer], votes: Mapping[str, Vote], winner: str
) -> str:
    """The presenter's user message: the task, every answer, every vote, the choice."""
    blocks = "\n\n".join(
        COORDINATION_ANSWER_BLOCK.format(agent_id=a.agent, content=a.content) for a in answers
    )
    ballot = "\n".join(
        f"{v.voter} voted for {v.choice}" + (f": {v.reason}" if v.reason else "")
        for v in votes.values()
    )
    return PRESENTATION_TASK.format(
        task=task,
        answers=blocks,
        votes=ballot or "(no valid votes)",
        chosen=f"The chosen answer is {winner}'s.",
    )


async def present(
    *,
    task: str,
    presenter_id: str,
    member: Member,
    answers: Sequence[Answer],
    votes: Mapping[str, Vote],
    winner: str,
    hub: ToolHub | None,
    options: CoordinationOptions,
    emit: EventSink,
) -> Presentation:
    """Run the presentation and the guard; never raises for a model or tool failure."""
    fallback = next(a.content for a in answers if a.agent == winner)
    system = PRESENTATION_SYSTEM
    if member.system_message and member.system_message.strip():
        system += "\n\n" + member.system_message.strip()
    agent = Agent(
        member.client,
        hub=hub,
        config=AgentConfig(
            name=presenter_id,
            system_prompt=system,
            max_steps=options.max_steps,
            tool_filter=member.tool_filter,
            tool_timeout=options.tool_timeout,
            temperature=member.temperature,
            max_tokens=member.max_tokens,
            request_extra=member.request_extra,
        ),
    )
    usage = RunUsage()
    emit(CoordinationEvent(agent=presenter_id, kind="present", text=winner))
    prompt = presentation_prompt(task, answers, votes, winner)
    first: AgentResult | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(options.presentation_timeout):
            first = await _run(agent, task=prompt)
    except TimeoutError:
        error = f"the presenter timed out after {options.presentation_timeout:g}s"
    except MgxRuntimeError as exc:
        error = f"the presenter failed: {exc}"
    if first is not None:
        usage = usage + first.usage
        _emit_messages(emit, presenter_id, first.messages)
        if not first.final_text.strip():
            error = "the presenter gave an empty answer"
    if error is not None or first is None or not first.final_text.strip():
        # The winning answer stands; the guard still checks it (no repair turn: the
        # presenter is what failed).
        guard = await guard_final_answer(fallback, None)
        emit(CoordinationEvent(agent=presenter_id, kind="guard", data=guard.to_json()))
        return Presentation(text=guard.text, guard=guard, usage=usage, error=error)

    history = list(first.messages)

    async def repair(instruction: str) -> str:
        nonlocal usage
        try:
            async with asyncio.timeout(options.presentation_timeout):
                second = await _run(
                    agent, messages=[*history, {"role": "user", "content": instruction}]
                )
        except (TimeoutError, MgxRuntimeError):
            return ""  # the guard keeps the first answer
        usage = usage + second.usage
        _emit_messages(emit, presenter_id, second.messages[len(history) :])
        return second.final_text

    guard = await guard_final_answer(first.final_text, repair)
    emit(CoordinationEvent(agent=presenter_id, kind="guard", data=guard.to_json()))
    return Presentation(text=guard.text, guard=guard, usage=usage, error=None)


async def _run(
    agent: Agent, *, task: str | None = None, messages: list[dict[str, Any]] | None = None
) -> AgentResult:
    # MaxStepsExceeded propagates (an AgentError): a presenter cut off mid-loop has no
    # final answer, and its mid-loop text must not pass for one.
    return await agent.run(task, messages=messages)


def _emit_messages(emit: EventSink, agent: str, messages: Sequence[dict[str, Any]]) -> None:
    for message in messages:
        emit(CoordinationEvent(agent=agent, kind="message", data=message))
