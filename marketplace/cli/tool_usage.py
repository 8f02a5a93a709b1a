"""`mgx tool usage` (local usage counts) and `mgx tool recommend` (servers for a task)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

SINCE_HELP = "Only calls since this long ago (30m, 12h, 7d, 2w) or this date (2026-11-01)."


def usage(
    since: str | None = typer.Option(None, "--since", metavar="D", help=SINCE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
) -> None:
    """Tool calls made on this machine, per server and tool: calls, errors, p50/p95, last use.

    Recorded locally by every tool call through `mgx agent` (nothing leaves the machine; no
    arguments or results are kept). Off with MGX_NO_USAGE=1 or `[usage] enabled = false`.
    """
    from marketplace.cli.output import emit_json, note, table
    from marketplace.settings import Settings
    from marketplace.usage import UsageStore, parse_since, usage_enabled

    settings = Settings.from_env()
    start = parse_since(since) if since else None
    rows = UsageStore.for_settings(settings).summary(since=start)
    if as_json:
        emit_json(rows)
        return
    if not usage_enabled(settings):
        note("mgx: note: usage tracking is off (MGX_NO_USAGE or [usage] enabled = false)")
    if not rows:
        note("no tool calls recorded" + (f" since {start:%Y-%m-%d %H:%M} UTC" if start else ""))
        return
    table(
        ["SERVER", "TOOL", "CALLS", "ERRORS", "P50 MS", "P95 MS", "LAST USED"],
        [
            [r.server, r.tool, r.calls, r.errors, f"{r.p50_ms:.1f}", f"{r.p95_ms:.1f}", r.last_used]
            for r in rows
        ],
        no_wrap=("SERVER", "TOOL", "LAST USED"),
    )


def recommend(
    task: str | None = typer.Argument(
        None, help="What the tools are for, in words (default: complete the project's tools)."
    ),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=100, metavar="N"),
    project: Path | None = typer.Option(
        None, "--project", "-C", help="Project whose tools and usage to consider."
    ),
    offline: bool = typer.Option(
        False, "--offline", help="Use the cache only; never contact a registry."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the recommendations as JSON."),
) -> None:
    """Servers for TASK, ranked by relevance and by what a user would weigh, each with why.

    Signals: installable here, verified provenance, active, recent, used together with the
    project's tools (local usage), and quality signals from the registry's _meta.
    """
    from marketplace.catalog import Catalog
    from marketplace.cli.output import emit_json, note, table
    from marketplace.errors import ConfigError
    from marketplace.project import find_project
    from marketplace.recommend import recommend as do_recommend
    from marketplace.settings import Settings
    from marketplace.usage import UsageStore

    settings = Settings.from_env()
    lock = None
    try:
        lock = find_project(project, settings=settings).lock()
    except ConfigError:
        if project is not None:
            raise  # an explicit project that is not one is bad input; none found is fine
    with Catalog(settings, offline=True if offline else None) as catalog:
        found = do_recommend(
            catalog,
            task,
            lock=lock,
            usage=UsageStore.for_settings(settings),
            limit=limit,
        )
        for line in catalog.notes:
            note(f"mgx: note: {line}")
    if found.in_project:
        left_out = ", ".join(found.in_project[:5])
        note(f"mgx: note: already in this project, so left out: {left_out}")
    recs = found.items
    if as_json:
        emit_json(recs)
        return
    if not recs:
        note("nothing to recommend" + (f" for {task!r}" if task else ""))
        return
    table(
        ["NAME", "VERSION", "WHY"],
        [[r.name, r.version, "; ".join(r.reasons)] for r in recs],
        no_wrap=("NAME", "VERSION"),
        one_line=("WHY",),
    )


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the ``mgx tool`` group."""
    commands: list[tuple[str, Any]] = [("usage", usage), ("recommend", recommend)]
    for name, function in commands:
        app.command(name)(function)
