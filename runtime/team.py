"""MassGen-style teams: several agents answer, all vote, one presents the final answer.

Phases (each runs its agents concurrently, so agents sharing a vLLM server are batched):

1. **Answer** - every member runs the task with the tool set (its own filter applies).
2. **Vote** - every member sees all answers, anonymised as "Answer 1..K", and votes for the
   best one with a JSON reply constrained by ``response_format: json_schema``. Replies that
   are not valid JSON are parsed leniently; a reply that names no answer is an abstention.
   The most votes win; ties (and no valid votes at all) go to the earliest member.
3. **Present** - the winner (or a designated presenter) writes the final answer, seeing all
   answers and the vote. The autonomy guard checks it: when it asks the user anything, the
   presenter is told once that nobody can answer and must state assumptions instead.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.agent import (
    DEFAULT_SYSTEM_PROMPT,
    Agent,
    AgentConfig,
    AgentResult,
    ChatModel,
    MaxStepsExceeded,
    RunUsage,
)
from runtime.autonomy import REPROMPT, asks_user
from runtime.errors import AgentError, MgxRuntimeError

if TYPE_CHECKING:
    from runtime.tools import ToolFilter, ToolHub

__all__ = [
    "GuardReport",
    "MemberAnswer",
    "TeamMember",
    "TeamResult",
    "Vote",
    "parse_vote",
    "run_team",
]


@dataclass(frozen=True, kw_only=True)
class TeamMember:
    """One agent of a team: a name, a chat client and (optionally) its own tool filter."""

    name: str
    client: ChatModel
    model: str = ""  # a label for reports (the model or endpoint behind ``client``)
    tool_filter: ToolFilter | None = None


@dataclass(frozen=True, kw_only=True)
class MemberAnswer:
    """What one member answered in phase 1 (``text`` is empty when it failed)."""

    agent: str
    model: str
    text: str
    stop_reason: str
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class Vote:
    """One member's vote: ``choice`` is the agent voted for, None for an abstention."""

    voter: str
    choice: str | None
    answer_number: int | None
    reason: str
    raw: str


@dataclass(frozen=True, kw_only=True)
class GuardReport:
    """What the autonomy guard saw: the trigger on the first final answer, and whether the
    answer after the one re-prompt still asked (it is used anyway: there is no one to ask)."""

    triggered: bool
    reason: str | None = None
    still_asking: str | None = None


@dataclass(frozen=True, kw_only=True)
class TeamResult:
    """Everything a team run produced."""

    task: str
    answers: tuple[MemberAnswer, ...]
    votes: tuple[Vote, ...]
    tally: dict[str, int]
    winner: str
    presenter: str
    final_text: str
    guard: GuardReport
    usage: RunUsage
    usage_by_agent: dict[str, RunUsage] = field(default_factory=dict)
    presenter_error: str | None = None


async def run_team(
    task: str,
    members: Sequence[TeamMember],
    *,
    hub: ToolHub | None = None,
    max_steps: int = 10,
    presenter: str | None = None,
    system_prompt: str = DEFAULT_SYSTEM_PROMPT,
    tool_timeout: float | None = None,
    vote_max_tokens: int = 300,
) -> TeamResult:
    """Run ``task`` with ``members`` through answer, vote and present (see module docs).

    Raises ``AgentError`` when no member produced an answer, or when the names are invalid.
    """
    names = [m.name for m in members]
    if not members:
        raise AgentError("a team needs at least one member")
    if len(set(names)) != len(names):
        raise AgentError(f"team member names must be unique: {', '.join(names)}")
    if presenter is not None and presenter not in names:
        raise AgentError(f"presenter {presenter!r} is not a member ({', '.join(names)})")
    started = time.perf_counter()
    usage: dict[str, RunUsage] = {name: RunUsage() for name in names}

    def config(member: TeamMember) -> AgentConfig:
        # Same system prompt and same hub for all: their requests share a prompt prefix.
        return AgentConfig(
            name=member.name,
            system_prompt=system_prompt,
            max_steps=max_steps,
            tool_filter=member.tool_filter,
            tool_timeout=tool_timeout,
        )

    agents = {m.name: Agent(m.client, hub=hub, config=config(m)) for m in members}

    # 1. answers, concurrently
    outcomes = await _gather_all(*(_answer(agents[m.name], m, task) for m in members))
    answers = tuple(a for a, _ in outcomes)
    for answer, run_usage in outcomes:
        usage[answer.agent] = usage[answer.agent] + run_usage
    candidates = [a for a in answers if a.text.strip()]
    if not candidates:
        errors = "; ".join(f"{a.agent}: {a.error or a.stop_reason}" for a in answers)
        raise AgentError(f"no team member produced an answer ({errors})")

    # 2. votes, concurrently (skipped when there is nothing to choose between)
    votes: tuple[Vote, ...] = ()
    if len(candidates) > 1:
        ballot = _ballot(task, candidates)
        vote_results = await _gather_all(
            *(_vote(m, system_prompt, ballot, candidates, vote_max_tokens) for m in members)
        )
        votes = tuple(v for v, _ in vote_results)
        for vote, vote_usage in vote_results:
            usage[vote.voter] = usage[vote.voter] + vote_usage
    tally = Counter(v.choice for v in votes if v.choice is not None)
    order = {a.agent: i for i, a in enumerate(candidates)}
    # Most votes first; ties and the no-valid-vote case go to the earliest member.
    winner = min(candidates, key=lambda a: (-tally.get(a.agent, 0), order[a.agent])).agent

    # 3. present, with the autonomy guard
    presenter_name = presenter or winner
    member = next(m for m in members if m.name == presenter_name)
    final, guard, present_usage, presenter_error = await _present(
        agents[presenter_name], member, task, candidates, winner, tally
    )
    usage[presenter_name] = usage[presenter_name] + present_usage
    if not final.strip():
        final = next(a.text for a in candidates if a.agent == winner)
    total = RunUsage()
    for u in usage.values():
        total = total + u
    from dataclasses import replace

    total = replace(total, wall_s=time.perf_counter() - started)
    return TeamResult(
        task=task,
        answers=answers,
        votes=votes,
        tally={a.agent: tally.get(a.agent, 0) for a in candidates},
        winner=winner,
        presenter=presenter_name,
        final_text=final,
        guard=guard,
        usage=total,
        usage_by_agent=usage,
        presenter_error=presenter_error,
    )


async def _gather_all(*aws: Any) -> list[Any]:
    """Like ``asyncio.gather``, but an unexpected error surfaces only after every member has
    finished, so no member is left running unawaited."""
    results = await asyncio.gather(*aws, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


async def _answer(agent: Agent, member: TeamMember, task: str) -> tuple[MemberAnswer, RunUsage]:
    try:
        result = await agent.run(task)
    except MaxStepsExceeded as exc:
        # A capped run may still have said something useful in its last turn.
        return _member_answer(member, exc.result, error=str(exc)), exc.result.usage
    except MgxRuntimeError as exc:
        return (
            MemberAnswer(
                agent=member.name, model=member.model, text="", stop_reason="error", error=str(exc)
            ),
            RunUsage(),
        )
    return _member_answer(member, result), result.usage


def _member_answer(
    member: TeamMember, result: AgentResult, error: str | None = None
) -> MemberAnswer:
    return MemberAnswer(
        agent=member.name,
        model=member.model,
        text=result.final_text,
        stop_reason=result.stop_reason,
        error=error,
    )


def _ballot(task: str, candidates: Sequence[MemberAnswer]) -> str:
    blocks = "\n\n".join(
        f"### Answer {i}\n{a.text.strip()}" for i, a in enumerate(candidates, start=1)
    )
    return (
        f"Several agents answered this task independently.\n\n## Task\n{task}\n\n"
        f"## Answers\n{blocks}\n\n"
        f"Pick the answer that is most correct and complete for the task. Reply with JSON "
        f'only: {{"best": <answer number 1-{len(candidates)}>, "reason": "<one sentence>"}}'
    )


def _vote_schema(count: int) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "vote",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {
                    "best": {"type": "integer", "minimum": 1, "maximum": count},
                    "reason": {"type": "string"},
                },
                "required": ["best", "reason"],
                "additionalProperties": False,
            },
        },
    }


async def _vote(
    member: TeamMember,
    system_prompt: str,
    ballot: str,
    candidates: Sequence[MemberAnswer],
    max_tokens: int,
) -> tuple[Vote, RunUsage]:
    messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": ballot}]
    t0 = time.perf_counter()
    try:
        completion = await member.client.complete(
            messages,
            temperature=0.0,
            max_tokens=max_tokens,
            extra={"response_format": _vote_schema(len(candidates))},
        )
    except MgxRuntimeError as exc:  # an unreachable voter abstains; the team goes on
        return Vote(
            voter=member.name, choice=None, answer_number=None, reason=f"vote failed: {exc}", raw=""
        ), RunUsage()
    usage = RunUsage().with_completion(completion, time.perf_counter() - t0)
    raw = completion.content or ""
    number, reason = parse_vote(raw, len(candidates))
    choice = candidates[number - 1].agent if number is not None else None
    return Vote(
        voter=member.name, choice=choice, answer_number=number, reason=reason, raw=raw[:2000]
    ), usage


_VOTE_KEYS = ("best", "vote", "answer", "choice", "winner", "best_answer")
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
_NAMED_NUMBER = re.compile(r"\b(?:answer|option|candidate|number|#)\s*#?\s*(\d+)\b", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^\s*(\d+)\s*[.)]?\s*$")


def parse_vote(text: str, count: int) -> tuple[int | None, str]:
    """Read a vote for one of ``count`` answers from ``text``; ``(None, why)`` for garbage.

    Accepts the constrained JSON (``{"best": 2, "reason": ...}``), JSON with other common
    keys or string numbers, JSON inside code fences or prose, "Answer 2" in prose, or a bare
    number. Anything out of range is not a vote.
    """
    text = (text or "").strip()
    stripped = _FENCE.sub("", text).strip()
    for candidate in _json_objects(stripped):
        for key in _VOTE_KEYS:
            if key in candidate:
                number = _as_int(candidate[key])
                reason = str(candidate.get("reason", "")).strip()
                if number is not None and 1 <= number <= count:
                    return number, reason
                return None, f"vote out of range or not a number: {candidate[key]!r}"
    match = _NAMED_NUMBER.search(stripped) or _BARE_NUMBER.match(stripped)
    if match:
        number = int(match.group(1))
        if 1 <= number <= count:
            return number, stripped[:200]
    return None, "no vote found in the reply"


def _json_objects(text: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    try:
        value = json.loads(text)
        if isinstance(value, dict):
            return [value]
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"\{", text)):
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        m = re.search(r"\d+", value)
        return int(m.group(0)) if m else None
    return None


def _presentation(
    task: str, candidates: Sequence[MemberAnswer], winner: str, tally: Counter[str]
) -> str:
    blocks = "\n\n".join(
        f"### Answer {i}{' (chosen by the vote)' if a.agent == winner else ''} - "
        f"{tally.get(a.agent, 0)} vote(s)\n{a.text.strip()}"
        for i, a in enumerate(candidates, start=1)
    )
    return (
        f"## Task\n{task}\n\n## Answers from the team\n{blocks}\n\n"
        "Write the final answer to the task. Start from the chosen answer and correct or "
        "complete it with whatever the other answers got right; use tools to check facts if "
        "needed. Nobody will read follow-up questions: do not ask the user anything, state "
        "any assumption you make. Reply with the final answer only."
    )


async def _present(
    agent: Agent,
    member: TeamMember,
    task: str,
    candidates: Sequence[MemberAnswer],
    winner: str,
    tally: Counter[str],
) -> tuple[str, GuardReport, RunUsage, str | None]:
    prompt = _presentation(task, candidates, winner, tally)
    try:
        first = await agent.run(prompt)
    except MaxStepsExceeded as exc:
        first = exc.result
    except MgxRuntimeError as exc:
        return "", GuardReport(triggered=False), RunUsage(), f"presenter failed: {exc}"
    usage = first.usage
    reason = asks_user(first.final_text)
    if reason is None:
        return first.final_text, GuardReport(triggered=False), usage, None
    # One re-prompt: continue the presenter's own conversation with the reminder.
    history = [*first.messages, {"role": "user", "content": REPROMPT}]
    try:
        second = await agent.run(messages=history)
    except MaxStepsExceeded as exc:
        second = exc.result
    except MgxRuntimeError as exc:
        return (
            first.final_text,
            GuardReport(triggered=True, reason=reason, still_asking=reason),
            usage,
            f"re-prompt failed: {exc}",
        )
    usage = usage + second.usage
    text = second.final_text.strip() or first.final_text
    return (
        text,
        GuardReport(triggered=True, reason=reason, still_asking=asks_user(text)),
        usage,
        None,
    )
