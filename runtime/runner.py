"""One call that runs a task end to end: tools up, clients open, agent or team, all closed.

This is what ``mgx agent`` calls; it is also the simplest way to use the runtime from code::

    outcome = await run_task("What time is it in Tokyo?", models=[target], servers=specs)
    print(outcome.answer)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.agent import DEFAULT_SYSTEM_PROMPT, Agent, AgentConfig, AgentResult, RunUsage
from runtime.errors import AgentError

if TYPE_CHECKING:
    from runtime.autonomy import GuardOutcome
    from runtime.coordination import CoordinationEvent, CoordinationOptions, CoordinationResult
    from runtime.models import ModelTarget
    from runtime.tools import ServerSpec, ServerStatus, ToolFilter

__all__ = ["TaskOutcome", "guard_agent_answer", "run_task"]


@dataclass(frozen=True, kw_only=True)
class TaskOutcome:
    """The answer, the usage, the tool servers' status and the full agent or team result."""

    answer: str
    usage: RunUsage
    servers: tuple[ServerStatus, ...] = ()
    agent: AgentResult | None = None
    team: CoordinationResult | None = None
    tools: tuple[str, ...] = field(default=())
    # The autonomy guard on a single agent's answer (a team reports its own in ``team``);
    # None when the guard was switched off.
    guard: GuardOutcome | None = None
    repair: AgentResult | None = None  # the repair turn, when the guard ran one


async def run_task(
    task: str,
    *,
    models: Sequence[ModelTarget],
    servers: Sequence[ServerSpec] = (),
    agents: int = 1,
    max_steps: int = 10,
    tool_filter: ToolFilter | None = None,
    tool_timeout: float = 60.0,
    startup_timeout: float = 60.0,
    log_dir: Path | None = None,
    system_prompt: str = DEFAULT_SYSTEM_PROMPT,
    on_phase: Callable[[str], None] | None = None,
    client_options: dict[str, Any] | None = None,
    autonomy_guard: bool = True,
    autonomy_judge: bool = False,
    coordination: CoordinationOptions | None = None,
    on_event: Callable[[CoordinationEvent], None] | None = None,
) -> TaskOutcome:
    """Run ``task`` with ``agents`` agents over ``models`` (assigned round-robin) and the
    tool servers ``servers`` (started in parallel, stopped on the way out).

    One agent runs the plain loop; several coordinate (``runtime.coordination``: answers,
    votes, restarts, presentation), with ``coordination`` as limits (its ``max_steps`` and
    ``tool_timeout`` are taken from the arguments here). A single agent's final answer goes
    through the autonomy guard (``autonomy_guard``): when it asks the reader anything, one
    repair turn continues the agent's conversation and the better answer is kept (see
    ``runtime.autonomy``); a team's presenter goes through the same guard in the coordination.
    ``autonomy_judge`` asks the agent's own endpoint for a second opinion on borderline
    answers. Raises ``AgentError`` (e.g. ``MaxStepsExceeded``, or more models than agents),
    ``LLMError`` or ``ToolError``.
    """
    from runtime.client import ChatClient
    from runtime.coordination import CoordinationOptions, Member, coordinate
    from runtime.models import pick_endpoint
    from runtime.tools import ToolHub

    if not models:
        raise AgentError("no model given (use --model NAME or --model URL)")
    if agents < 1:
        raise AgentError(f"--agents must be at least 1 (got {agents})")
    if len(models) > agents:
        raise AgentError(
            f"{len(models)} models given for {agents} agent(s): the extra models would never "
            f"run (give --agents {len(models)} or fewer --model)"
        )
    phase = on_phase or (lambda _msg: None)
    import time

    # The usage line's time covers the whole run, tool servers' start-up included.
    started = time.perf_counter()
    async with contextlib.AsyncExitStack() as stack:
        hub = None
        if servers:
            phase(f"starting {len(servers)} tool server(s)")
            hub = await stack.enter_async_context(
                ToolHub(
                    servers,
                    call_timeout=tool_timeout,
                    startup_timeout=startup_timeout,
                    log_dir=log_dir,
                )
            )
        # One client per endpoint, shared by the agents sent there (one connection pool, so
        # their requests go out concurrently and vLLM batches them). Each agent's endpoint is
        # picked on its own, so a model with replicas spreads a team over them.
        clients: dict[tuple[str, str], Any] = {}

        async def client_for(index: int) -> Any:
            target = models[index % len(models)]
            url = await pick_endpoint(target)
            key = (url, target.model)
            if key not in clients:
                client = ChatClient(
                    url, target.model, api_key=target.api_key, **(client_options or {})
                )
                clients[key] = await stack.enter_async_context(client)
            return clients[key]

        def status() -> tuple[ServerStatus, ...]:
            return tuple(hub.status()) if hub is not None else ()

        if agents == 1:
            phase("running the agent")
            agent = Agent(
                await client_for(0),
                hub=hub,
                config=AgentConfig(
                    max_steps=max_steps,
                    tool_filter=tool_filter,
                    tool_timeout=tool_timeout,
                    system_prompt=system_prompt,
                ),
            )
            result = await agent.run(task)
            if not autonomy_guard:
                return TaskOutcome(
                    answer=result.final_text,
                    usage=result.usage,
                    servers=status(),
                    agent=result,
                    tools=result.tools,
                )
            phase("checking the answer (autonomy guard)")
            guard, repair = await guard_agent_answer(agent, result, judge=autonomy_judge)
            usage = result.usage + repair.usage if repair is not None else result.usage
            return TaskOutcome(
                answer=guard.text,
                usage=replace(usage, wall_s=time.perf_counter() - started),
                servers=status(),
                agent=result,
                tools=result.tools,
                guard=guard,
                repair=repair,
            )
        members = [
            Member(
                name=f"agent{i + 1}",
                client=await client_for(i),
                model=models[i % len(models)].model,
                tool_filter=tool_filter,
            )
            for i in range(agents)
        ]
        phase(f"coordinating {agents} agents")
        options = replace(
            coordination or CoordinationOptions(), max_steps=max_steps, tool_timeout=tool_timeout
        )
        team = await coordinate(task, members, hub=hub, options=options, on_event=on_event)
        return TaskOutcome(
            answer=team.answer,
            usage=replace(team.usage, wall_s=time.perf_counter() - started),
            servers=status(),
            team=team,
            tools=team.tools,
        )
    raise AssertionError("unreachable")  # pragma: no cover - the exit stack does not swallow


async def guard_agent_answer(
    agent: Agent, result: AgentResult, *, judge: bool = False
) -> tuple[GuardOutcome, AgentResult | None]:
    """Run the autonomy guard on ``result``'s final answer; a repair turn continues the
    agent's own conversation with the repair instruction as the next user message.

    ``judge`` asks the agent's own endpoint for a constrained verdict on borderline answers.
    Returns the guard's outcome and the repair turn's result (None when none ran; a turn
    that failed at the step cap is returned for its usage, recorded in the outcome as a
    repair error, and the first answer is kept).
    """
    from runtime.agent import MaxStepsExceeded
    from runtime.autonomy import guard_final_answer, model_judge

    repaired: list[AgentResult] = []

    async def repair(instruction: str) -> str:
        history = [*result.messages, {"role": "user", "content": instruction}]
        try:
            second = await agent.run(messages=history)
        except MaxStepsExceeded as exc:
            repaired.append(exc.result)  # its tokens were spent; its text is unusable
            raise
        repaired.append(second)
        return second.final_text

    verdict = model_judge(agent.client) if judge else None
    outcome = await guard_final_answer(result.final_text, repair, judge=verdict)
    return outcome, (repaired[0] if repaired else None)
