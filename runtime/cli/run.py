"""`mgx run TASK`: run a team declared in a file (MassGen's YAML, unchanged) or in mgx.toml.

``--config FILE`` reads a MassGen v0.0.23 YAML file (or a TOML file with ``[team]``);
without it the ``[team]`` of the project's mgx.toml is used. ``--base-url`` points every
agent at one OpenAI-compatible endpoint (a local vLLM, or a test server). ``mgx agent`` is
the quick form for a team of identical agents given on the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from runtime.coordination import CoordinationFailed
    from runtime.runner import TaskOutcome


def register(app: typer.Typer) -> None:
    """Attach the ``run`` command to the root app."""
    app.command(
        "run",
        help="Run TASK with a team from a config file (MassGen YAML runs unchanged) or the "
        "[team] of mgx.toml: the agents coordinate (answers, votes) and the winner presents.",
    )(run_command)


def run_command(
    task: str | None = typer.Argument(
        None, help="What the team should do (one quoted string); not with --list."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="Team config: MassGen YAML (agent:/agents:) or TOML with [team]. Default: the "
        "[team] table of the project's mgx.toml.",
    ),
    base_url: str | None = typer.Option(
        None,
        "--base-url",
        help="Send every agent to this OpenAI-compatible endpoint instead of its backend's "
        "(e.g. a local vLLM); the config's model is kept when the endpoint serves it, else "
        "the endpoint's first model is used.",
    ),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Environment variable holding the API key for every agent."
    ),
    json_out: bool = typer.Option(
        False,
        "--json",
        help="Print answer, winner, votes, rounds, restarts, guard result, failures and usage "
        "per agent as JSON (also when the run fails).",
    ),
    transcript: Path | None = typer.Option(
        None,
        "--transcript",
        help="Write a JSONL transcript of every message and tool call into this folder "
        "(secrets redacted).",
    ),
    project: Path | None = typer.Option(
        None, "--project", "-C", help="Project directory (mgx.toml, mgx.lock)."
    ),
    max_steps: int = typer.Option(
        10,
        "--max-steps",
        min=1,
        help="Model calls per agent round (config: orchestrator.max_steps).",
    ),
    timeout: float | None = typer.Option(
        None,
        "--timeout",
        min=0.1,
        help="Seconds for the whole coordination (then the answers that exist are presented); "
        "overrides timeout_settings.orchestrator_timeout_seconds.",
    ),
    planning: bool | None = typer.Option(
        None,
        "--planning/--no-planning",
        help="Withhold tools with side effects until the presentation (overrides the config).",
    ),
    require_tool_call: bool = typer.Option(
        False,
        "--require-tool-call",
        help="Send tool_choice=required on every coordination turn (for small local models "
        "that drift into prose; a server that refuses it is asked without).",
    ),
    tool_timeout: float = typer.Option(
        60.0, "--tool-timeout", min=0.1, help="Seconds a tool call may take before it fails."
    ),
    tool_start_timeout: float = typer.Option(
        60.0,
        "--tool-start-timeout",
        min=0.1,
        help="Seconds each MCP server may take to start and list its tools.",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Copy the final workspace (the presenter's files) to this new or empty folder.",
    ),
    keep: bool = typer.Option(
        False,
        "--keep",
        help="Keep the run's workspaces, snapshots and views under mgx's state directory.",
    ),
    dry_run_writes: bool = typer.Option(
        False,
        "--dry-run-writes",
        help="Do not change 'write' context paths: the presenter writes to a staging copy "
        "and the result shows the diff.",
    ),
    session: str | None = typer.Option(
        None,
        "--session",
        help="Continue the session NAME: earlier turns' tasks and answers are context, the "
        "earlier final workspace is readable; this run is recorded as its next turn.",
    ),
    list_turns: bool = typer.Option(
        False, "--list", help="With --session: show the session's turns (no TASK)."
    ),
) -> None:
    import asyncio
    import contextlib
    import sys

    from marketplace.cli.output import emit_json, note
    from marketplace.settings import Settings
    from runtime.cli._live import LiveView
    from runtime.coordination import CoordinationFailed, Transcript
    from runtime.errors import TeamConfigError
    from runtime.teams import FilesOptions, RunSettings, find_team, load_team_file, run_team

    if list_turns:
        _list_session(session, task, json_out)
        return
    if task is None:
        raise typer.BadParameter("give the TASK (or --session NAME --list)", param_hint="TASK")
    if config is not None:
        if not config.is_file():
            raise TeamConfigError(f"no such config file: {config}")
        spec = load_team_file(config)
    else:
        found = find_team(project)
        if found is None:
            raise TeamConfigError(
                "no team: give --config FILE, declare [team] in mgx.toml, or use "
                "`mgx agent TASK --model M --agents N`"
            )
        spec = found
    if not json_out:
        for warning in spec.warnings:
            note(f"mgx: warning: {warning}")
    settings = Settings.from_env()
    run = RunSettings(
        base_url=base_url,
        api_key_env=api_key_env,
        max_steps=max_steps,
        tool_timeout=tool_timeout,
        startup_timeout=tool_start_timeout,
        timeout=timeout,
        planning=planning,
        require_tool_call=require_tool_call,
        log_dir=settings.state_dir / "tool-logs",
        project_dir=project,
        files=FilesOptions(
            output=output, keep=keep, dry_run_writes=dry_run_writes, session=session
        ),
    )
    view = LiveView(enabled=not json_out and sys.stderr.isatty())
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(Transcript(transcript)) if transcript is not None else None
        stack.enter_context(view)
        try:
            outcome = asyncio.run(
                run_team(
                    task,
                    spec,
                    settings=settings,
                    run=run,
                    on_event=view if view.enabled else None,
                    transcript=sink,
                )
            )
        except CoordinationFailed as exc:
            if json_out:
                emit_json(_failure_json(exc, spec.warnings))
                raise typer.Exit(exc.exit_code) from None
            raise
    if sink is not None and not json_out:
        note(f"transcript: {sink.path}")
    if json_out:
        emit_json(_as_json(outcome, spec.warnings, sink.path if sink else None))
        return
    from runtime.cli.agent import server_notes, team_summary, usage_line

    typer.echo(outcome.answer)
    for line in server_notes(outcome.servers):
        note(line)
    if outcome.team is not None:
        for line in team_summary(outcome.team):
            note(line)
        for line in files_summary(outcome.team.workspace, outcome.team.session):
            note(line)
    note(usage_line(outcome.usage))


def files_summary(workspace: Any, session: Any) -> list[str]:
    """The lines about the run's files and session turn (stderr)."""
    lines: list[str] = []
    if workspace:
        if workspace.get("final_workspace"):
            lines.append(f"final workspace: {workspace['final_workspace']}")
        verb = "would change" if workspace.get("dry_run_writes") else "changed"
        for change in workspace.get("context_writes", []):
            lines.append(f"context path {verb}: {change.get('path')} ({change.get('kind')})")
            if workspace.get("dry_run_writes") and change.get("diff"):
                lines += str(change["diff"]).rstrip("\n").splitlines()
        if workspace.get("kept"):
            lines.append(f"run directory kept: {workspace['run_dir']}")
    if session:
        lines.append(f"session {session['name']}: recorded turn {session['turn']}")
    return lines


def _list_session(name: str | None, task: str | None, json_out: bool) -> None:
    from marketplace.cli.output import emit_json
    from marketplace.settings import Settings
    from runtime.workspaces import SessionStore

    if name is None:
        raise typer.BadParameter("--list needs --session NAME", param_hint="--list")
    if task is not None:
        raise typer.BadParameter("--list takes no TASK", param_hint="TASK")
    turns = SessionStore(Settings.from_env()).turns(name)
    if json_out:
        emit_json({"session": name, "turns": [t.to_json() for t in turns]})
        return
    if not turns:
        typer.echo(f"session {name}: no turns")
        return
    for turn in turns:
        first = turn.task.splitlines()[0] if turn.task else ""
        typer.echo(f"turn {turn.number}: {first}")
        if turn.workspace:
            typer.echo(f"  workspace: {turn.workspace}")


def _as_json(
    outcome: TaskOutcome, warnings: tuple[str, ...], transcript: Path | None
) -> dict[str, object]:
    from marketplace.cli.output import to_jsonable

    assert outcome.team is not None  # run_team always coordinates
    data: dict[str, object] = outcome.team.to_json()
    data["servers"] = to_jsonable(list(outcome.servers))
    data["tools"] = list(outcome.tools)
    data["warnings"] = list(warnings)
    data["transcript"] = str(transcript) if transcript else None
    return data


def _failure_json(exc: CoordinationFailed, warnings: tuple[str, ...]) -> dict[str, object]:
    data = exc.to_json()
    data["warnings"] = list(warnings)
    return data
