"""`mgx agent …`: run a task with one agent, or a team of agents, over a locked tool set.

``mgx agent TASK --agents N`` (or several ``--model``) runs a team with MassGen's
coordination protocol (``runtime.coordination``): the agents answer and vote with workflow
tools, a new answer restarts the others, and the winner presents the final answer. One
command rather than a separate ``mgx team`` because a team is the same task with the same
flags, only more agents; ``mgx run`` is the form that reads a team from a config file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

    from rich.status import Status

    from runtime.agent import RunUsage
    from runtime.coordination import CoordinationResult
    from runtime.runner import TaskOutcome
    from runtime.tools import ServerStatus


def register(app: typer.Typer) -> None:
    """Attach the ``agent`` command to the root app."""
    app.command(
        "agent",
        help="Run TASK with a local (or any OpenAI-compatible) model and the tools of a tool set; "
        "prints the answer, and usage (tokens, tool calls, time) on stderr.",
    )(agent_command)


def agent_command(
    task: str = typer.Argument(..., help="What the agent should do (one quoted string)."),
    model: list[str] = typer.Option(
        ...,
        "--model",
        "-m",
        help="A model name (managed by `mgx model serve` or configured) or an OpenAI-compatible "
        "base URL. Repeat to mix models in a team (assigned to agents round-robin).",
    ),
    toolset: str | None = typer.Option(
        None,
        "--toolset",
        "-t",
        help="Tool set from the project's mgx.lock whose tools the agent may call "
        "(default: no tools).",
    ),
    project: Path | None = typer.Option(
        None,
        "--project",
        "-C",
        help="Project directory holding mgx.toml and mgx.lock (default: the current directory "
        "or a parent, or $MGX_PROJECT).",
    ),
    max_steps: int = typer.Option(10, "--max-steps", min=1, help="Cap on model calls per agent."),
    agents: int = typer.Option(
        0,
        "--agents",
        "-n",
        min=0,
        help="Number of agents; more than one coordinates as a team (answers, votes, "
        "restarts; the winner presents). "
        "Default: one per --model.",
    ),
    allow: list[str] = typer.Option(
        [],
        "--allow",
        help="Only tools matching this glob (server__tool or server/tool); repeatable.",
    ),
    deny: list[str] = typer.Option(
        [], "--deny", help="Hide tools matching this glob; repeatable; wins over --allow."
    ),
    tool_timeout: float = typer.Option(
        60.0, "--tool-timeout", min=0.1, help="Seconds a tool call may take before it fails."
    ),
    tool_start_timeout: float = typer.Option(
        60.0,
        "--tool-start-timeout",
        min=0.1,
        help="Seconds each tool server may take to start and list its tools.",
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print the answer, steps, votes and usage as JSON."
    ),
    judge: bool = typer.Option(
        False,
        "--judge",
        help="Ask the model for a second opinion (a constrained JSON verdict) when the "
        "autonomy guard's offline check of a single agent's answer is borderline.",
    ),
) -> None:
    import asyncio

    from marketplace.cli.output import emit_json, note
    from marketplace.settings import Settings
    from runtime.models import resolve_target
    from runtime.runner import run_task
    from runtime.tools import ToolFilter

    if judge and (agents or len(model)) > 1:
        # The team's presenter has its own guard (runtime.coordination); a flag that would be
        # silently ignored there is refused instead.
        raise typer.BadParameter(
            "--judge applies to a single agent's answer, not to a team", param_hint="--judge"
        )
    settings = Settings.from_env()
    targets = [resolve_target(m, settings=settings) for m in model]
    servers = []
    if toolset:
        from runtime.toolset_loader import load_toolset

        servers = load_toolset(settings, project, toolset)
    tool_filter = ToolFilter(allow=tuple(allow), deny=tuple(deny)) if allow or deny else None
    from runtime.coordination import CoordinationFailed

    with _progress(enabled=not json_out) as phase:
        try:
            outcome = asyncio.run(
                run_task(
                    task,
                    models=targets,
                    servers=servers,
                    agents=agents or len(targets),
                    max_steps=max_steps,
                    tool_filter=tool_filter,
                    tool_timeout=tool_timeout,
                    startup_timeout=tool_start_timeout,
                    log_dir=settings.state_dir / "tool-logs",
                    on_phase=phase,
                    autonomy_judge=judge,
                )
            )
        except CoordinationFailed as exc:
            if not json_out:
                raise
            # --json reports what each agent did, also when none of them answered.
            emit_json(exc.to_json())
            raise typer.Exit(exc.exit_code) from None
    if json_out:
        emit_json(_as_json(outcome))
        return
    typer.echo(outcome.answer)
    for line in server_notes(outcome.servers):
        note(line)
    if outcome.team is not None:
        for line in team_summary(outcome.team):
            note(line)
    if outcome.guard is not None and outcome.guard.fired:
        note(outcome.guard.summary())
    note(usage_line(outcome.usage))


def server_notes(servers: Sequence[ServerStatus]) -> list[str]:
    """Lines about tool servers that failed or were restarted during the run (the library
    logs nothing to stderr; this is where a human hears about it)."""
    lines = []
    for status in servers:
        if status.state == "failed":
            lines.append(f"mgx: tool server {status.name} failed: {status.error}")
        elif status.restarts:
            lines.append(f"mgx: tool server {status.name} was restarted {status.restarts} time(s)")
    return lines


def usage_line(usage: RunUsage) -> str:
    """``usage: 1234 tokens (prompt 1000, completion 234) · 2 model calls · …``"""
    return (
        f"usage: {usage.total_tokens} tokens (prompt {usage.prompt_tokens}, "
        f"completion {usage.completion_tokens}) · {usage.model_calls} model calls · "
        f"{usage.tool_calls} tool calls ({usage.tool_errors} failed) · {usage.wall_s:.1f}s"
    )


def team_summary(team: CoordinationResult) -> list[str]:
    """The lines on stderr after a team's answer: winner and votes, failures, guard."""
    votes = ", ".join(f"{k}={v}" for k, v in team.tally.items())
    lines = [
        f"team: winner {team.winner} (votes: {votes or 'none'}; decided by {team.decision}; "
        f"{team.rounds} rounds, {team.restarts} restarts)"
    ]
    lines += [f"team: {agent} dropped: {why}" for agent, why in team.failures.items()]
    if team.presenter_error:
        lines.append(f"team: {team.presenter_error}; the winning answer stands")
    if team.guard.fired:
        lines.append(f"autonomy guard: {team.guard.matched} ({team.guard.why})")
    return lines


def _as_json(outcome: TaskOutcome) -> dict[str, object]:
    from marketplace.cli.output import to_jsonable

    data = to_jsonable(outcome)
    assert isinstance(data, dict)
    for key in ("agent", "repair"):
        if data.get(key):
            data[key].pop("messages", None)  # the full history is long; steps say what happened
    guard = getattr(outcome, "guard", None)
    if guard is not None:
        data["guard"] = guard.to_json()  # the kept text is already the top-level "answer"
    if outcome.team is not None:
        data["team"] = outcome.team.to_json()
    return data


class _progress:
    """A spinner on stderr naming the current phase (only on a TTY and without --json)."""

    def __init__(self, *, enabled: bool) -> None:
        import sys

        self._enabled = enabled and sys.stderr.isatty()
        self._status: Status | None = None

    def __enter__(self) -> Callable[[str], None]:
        if not self._enabled:
            return lambda _msg: None
        from rich.console import Console

        self._status = Console(stderr=True).status("starting")
        self._status.__enter__()
        return self._status.update

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.__exit__(exc_type, exc, tb)
