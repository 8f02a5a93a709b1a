"""The orchestrator: runs every agent's rounds concurrently until all live agents have voted.

Each live agent that has not voted always has one round in flight. When a round ends:

- ``new_answer``: the answer is recorded (even if its author had not seen the latest one:
  the content stands on its own), every vote is cleared, the other agents' rounds are
  cancelled, and every live agent starts a new round on the new answer set;
- ``vote``: recorded when cast on the current answer set; a stale vote starts a new round;
- a failure (error, no workflow call, max steps, timeout, token budget): the agent is dropped
  and named in the result; voters who chose its answer vote again.

The orchestrator timeout and the total token budget stop the rounds; the answers that exist
are then presented (as MassGen does), with the votes that exist deciding, and the result says
so. With no answer at all, one ``AgentError`` explains why.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from runtime.agent import RunUsage
from runtime.coordination._model import (
    AgentReport,
    CoordinationEvent,
    CoordinationFailed,
    CoordinationOptions,
    CoordinationResult,
    EventSink,
    Member,
)
from runtime.coordination._planning import coordination_filter
from runtime.coordination._present import present
from runtime.coordination._round import (
    AgentStats,
    BudgetExhausted,
    RoundFailed,
    RoundSetup,
    run_round,
)
from runtime.coordination._state import Board
from runtime.coordination._workflow import WorkflowCall
from runtime.errors import AgentError, MgxRuntimeError

if TYPE_CHECKING:
    from runtime.coordination._files import FileHooks
    from runtime.tools import ToolHub

RoundTask = asyncio.Task[WorkflowCall]


async def coordinate(
    task: str,
    members: Sequence[Member],
    *,
    hub: ToolHub | None = None,
    options: CoordinationOptions | None = None,
    on_event: EventSink | None = None,
    files: FileHooks | None = None,
) -> CoordinationResult:
    """Coordinate ``members`` on ``task`` and present the final answer.

    ``files`` (a run's workspaces) gives each agent its own hub, snapshots an agent's files
    when it answers and prepares the presenter's; see ``runtime.coordination._files``.

    Raises ``AgentError`` for a bad team (no members, duplicate names, unknown presenter) or
    when no agent produced an answer (every failure named in the message).
    """
    opts = options or CoordinationOptions()
    _check_team(members, opts)
    emit: EventSink = on_event or (lambda _event: None)
    return await _Orchestrator(task, members, hub, opts, emit, files).run()


def _check_team(members: Sequence[Member], opts: CoordinationOptions) -> None:
    if not members:
        raise AgentError("a team needs at least one agent")
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise AgentError(f"agent ids must be unique (repeated: {', '.join(dupes)})")
    if opts.presenter is not None and opts.presenter not in names:
        raise AgentError(f"presenter {opts.presenter!r} is not one of the agents: {names}")


class _Orchestrator:
    def __init__(
        self,
        task: str,
        members: Sequence[Member],
        hub: ToolHub | None,
        opts: CoordinationOptions,
        emit: EventSink,
        files: FileHooks | None = None,
    ) -> None:
        self.task = task
        self.files = files
        self.opts = opts
        self.emit = emit
        self.hub = hub
        self.ids = [f"agent{i}" for i in range(1, len(members) + 1)]
        self.members = dict(zip(self.ids, members, strict=True))
        self.board = Board(list(self.ids))
        self.stats = {a: AgentStats() for a in self.ids}
        self.tasks: dict[str, RoundTask] = {}
        self.versions: dict[RoundTask, int] = {}
        self.setups = {a: self._setup(m) for a, m in self.members.items()}

    def _hub(self, member: Member) -> ToolHub | None:
        own = self.files.hub_for(member.name) if self.files is not None else None
        return own if own is not None else self.hub

    def _setup(self, member: Member) -> RoundSetup:
        tools: list[dict[str, Any]] = []
        hub = self._hub(member)
        if hub is not None:
            tools = hub.openai_tools(
                coordination_filter(member.tool_filter, self.opts)
                if self.opts.planning
                else member.tool_filter
            )
        return RoundSetup(
            task=self.task,
            hub=hub,
            mcp_tools=tools,
            max_steps=self.opts.max_steps,
            max_answers=self.opts.max_answers,
            tool_timeout=self.opts.tool_timeout,
            agent_token_budget=self.opts.agent_token_budget,
            token_budget=self.opts.token_budget,
            require_tool_call=self.opts.require_tool_call,
            max_answer_chars=self.opts.max_answer_chars,
            spent=self._spent,
        )

    def _spent(self) -> int:
        return sum(s.usage.total_tokens for s in self.stats.values())

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> CoordinationResult:
        started = time.perf_counter()
        deadline = None if self.opts.timeout is None else time.monotonic() + self.opts.timeout
        stop: str | None = None  # why the rounds stopped early ("timeout", "token budget")
        try:
            for agent in self.ids:
                self._launch(agent)
            while not self.board.done() and self.tasks:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                done, _ = await asyncio.wait(
                    set(self.tasks.values()), timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    stop = "timeout"
                    break
                # Registration order, so simultaneous results are handled the same every run.
                finished = [(a, t) for a, t in list(self.tasks.items()) if t in done]
                for agent, round_task in finished:
                    if self._handle(agent, round_task) == "budget":
                        stop = "token budget"
                if stop:
                    break
        finally:
            await self._cancel_all()
        return await self._finish(stop, started)

    def _launch(self, agent: str) -> None:
        stats = self.stats[agent]
        stats.rounds += 1
        self.board.states[agent] = "working" if agent not in self.board.answers else "answered"
        answers = [self.board.answers[h] for h in self.board.holders]
        round_task = asyncio.ensure_future(self._round(agent, answers))
        self.tasks[agent] = round_task
        self.versions[round_task] = self.board.version
        self.emit(CoordinationEvent(agent=agent, kind="round", text=str(stats.rounds)))

    async def _round(self, agent: str, answers: list[Any]) -> WorkflowCall:
        stats = self.stats[agent]
        limit = self.opts.agent_timeout
        left = None if limit is None else limit - stats.work_s
        if left is not None and left <= 0:
            raise RoundFailed(f"timed out (agent timeout {limit:g}s)")
        t0 = time.monotonic()
        try:
            async with asyncio.timeout(left):
                name = self.members[agent].name
                if self.files is not None:
                    await self.files.round_starts(name)
                call = await run_round(
                    agent,
                    self.members[agent],
                    self.setups[agent],
                    answers,
                    self.board.answer_counts[agent],
                    stats,
                    self.emit,
                )
                if self.files is not None and call.kind == "new_answer":
                    # Before the loop sees the answer, so the restarted agents' views hold it.
                    await self.files.answered(name, agent)
                return call
        except TimeoutError:
            raise RoundFailed(f"timed out (agent timeout {limit:g}s)") from None
        finally:
            stats.work_s += time.monotonic() - t0

    def _handle(self, agent: str, round_task: RoundTask) -> str | None:
        """Apply one finished round to the board; returns "budget" when the team is out."""
        # A round that finished in the same instant as a new answer was already replaced by a
        # fresh round: only its new answer (if it gave one) still counts.
        current = self.tasks.get(agent) is round_task
        if current:
            del self.tasks[agent]
        version = self.versions.pop(round_task, -1)
        try:
            call = round_task.result()
        except BudgetExhausted as exc:
            self.emit(CoordinationEvent(agent=agent, kind="stop", text=str(exc)))
            return "budget"
        except (RoundFailed, MgxRuntimeError) as exc:
            if not current:
                return None  # the fresh round meets its own fate
            self._fail(agent, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return None
        if not current and call.kind != "new_answer":
            return None
        if call.kind == "new_answer":
            self._new_answer(agent, call.content)
        elif version != self.board.version or call.choice not in self.board.answers:
            # Cast on an answer set that has changed since: look again.
            self.stats[agent].restarts += 1
            self.emit(CoordinationEvent(agent=agent, kind="restart", text="stale vote"))
            self._launch(agent)
        else:
            self.board.add_vote(agent, call.choice, call.reason)
            self.emit(
                CoordinationEvent(
                    agent=agent,
                    kind="vote",
                    text=call.choice,
                    data={"choice": call.choice, "reason": call.reason},
                )
            )
        return None

    def _new_answer(self, agent: str, content: str) -> None:
        cleared = self.board.add_answer(agent, content)
        self.emit(CoordinationEvent(agent=agent, kind="answer", text=content))
        interrupted = []
        for other, round_task in list(self.tasks.items()):
            if round_task.done():
                continue  # finished in the same instant: ``run`` handles its result next
            interrupted.append(other)
            round_task.cancel()
            self.versions.pop(round_task, None)
            del self.tasks[other]
            self._reap(round_task)
        for other in self.board.live:
            if other == agent:
                self._launch(other)  # its next round: vote, or improve its answer
            elif other in interrupted or other in cleared:
                self.stats[other].restarts += 1
                self.emit(
                    CoordinationEvent(agent=other, kind="restart", text=f"new answer from {agent}")
                )
                self._launch(other)

    def _fail(self, agent: str, why: str) -> None:
        revoters = self.board.fail(agent, why)
        self.emit(CoordinationEvent(agent=agent, kind="failed", text=why))
        for voter in revoters:
            self.stats[voter].restarts += 1
            self.emit(CoordinationEvent(agent=voter, kind="restart", text=f"{agent} was dropped"))
            self._launch(voter)

    def _reap(self, round_task: RoundTask) -> None:
        # A cancelled round's exception must be retrieved, or asyncio logs it at exit.
        round_task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _cancel_all(self) -> None:
        pending = list(self.tasks.values())
        for round_task in pending:
            round_task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self.tasks.clear()

    # -- the end ----------------------------------------------------------------------------

    async def _finish(self, stop: str | None, started: float) -> CoordinationResult:
        board = self.board
        holders = board.holders
        if not holders:
            raise CoordinationFailed(self._no_answer_message(stop), agents=self._reports())
        tally = board.tally()
        leader = board.leader()
        assert leader is not None  # there are holders
        if stop is None:
            decision = "votes"
        elif any(tally.values()):
            decision = f"votes at {stop}"
        else:
            decision = f"no valid votes at {stop}: the earliest agent's answer was presented"
        winner = leader
        presenter_id = winner
        if self.opts.presenter is not None:
            chosen = next(a for a, m in self.members.items() if m.name == self.opts.presenter)
            if board.states[chosen] != "failed":  # a dropped agent presents nothing
                presenter_id = chosen
        member, hub = self.members[presenter_id], self._hub(self.members[presenter_id])
        if self.files is not None:
            own, member = await self.files.presenting(
                self.members[winner].name, member.name, member
            )
            hub = own if own is not None else hub
        presentation = await present(
            task=self.task,
            presenter_id=presenter_id,
            member=member,
            answers=[board.answers[h] for h in holders],
            votes=board.votes,
            winner=winner,
            hub=hub,
            options=self.opts,
            emit=self.emit,
        )
        self.stats[presenter_id].usage = self.stats[presenter_id].usage + presentation.usage
        self.emit(CoordinationEvent(agent=presenter_id, kind="final", text=presentation.text))
        reports = self._reports()
        total = RunUsage()
        for report in reports:
            total = total + report.usage
        total = replace(total, wall_s=time.perf_counter() - started)
        tools: tuple[str, ...] = ()
        if hub is not None:
            tools = tuple(t.name for t in hub.tools(member.tool_filter))
        return CoordinationResult(
            task=self.task,
            answer=presentation.text,
            winner=winner,
            presenter=presenter_id,
            decision=decision,
            answers=tuple(board.answers[h] for h in holders),
            votes=tuple(board.votes.values()),
            tally=tally,
            rounds=sum(s.rounds for s in self.stats.values()),
            restarts=sum(s.restarts for s in self.stats.values()),
            agents=reports,
            failures={a: board.failures[a] for a in self.ids if a in board.failures},
            guard=presentation.guard,
            usage=total,
            timed_out=stop == "timeout",
            presenter_error=presentation.error,
            tools=tools,
        )

    def _reports(self) -> tuple[AgentReport, ...]:
        return tuple(
            AgentReport(
                id=a,
                name=self.members[a].name,
                model=self.members[a].model,
                state=self.board.states[a],
                answers=self.board.answer_counts[a],
                rounds=self.stats[a].rounds,
                restarts=self.stats[a].restarts,
                usage=self.stats[a].usage,
                failure=self.board.failures.get(a),
            )
            for a in self.ids
        )

    def _no_answer_message(self, stop: str | None) -> str:
        failures = "; ".join(  # registration order, whatever order they failed in
            f"{a} ({self.members[a].name}): {self.board.failures[a]}"
            for a in self.ids
            if a in self.board.failures
        )
        if stop == "timeout":
            head = f"coordination timed out after {self.opts.timeout:g}s before any agent answered"
        elif stop is not None:
            head = f"coordination stopped ({stop}) before any agent answered"
        else:
            head = "no agent produced an answer"
        return head + (f": {failures}" if failures else "")
