"""`mgx client list | add | remove | import`: MCP client configs, edited in place."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from marketplace.clients import ClientChange, Where
    from marketplace.project import Project

app = typer.Typer(
    help="Put a project's locked tools into MCP clients' configs (merged, never overwritten).",
    no_args_is_help=True,
)

PROJECT_HELP = "Project directory holding mgx.toml (default: $MGX_PROJECT, else the nearest one)."
CLIENT_HELP = (
    "claude-desktop, claude-code, cursor, vscode, vscode-workspace, windsurf, cline, roo-code, "
    "continue, goose, codex, gemini, zed, opencode, lm-studio or qwen-code."
)


def _where(project: Project | None) -> Where:
    from marketplace.clients import Where

    return Where(env=dict(os.environ), project=project.root if project else None)


def _project(project: Path | None) -> Project:
    from marketplace.project import find_project

    return find_project(project)


def _render_change(change: ClientChange, *, as_json: bool, dry_run: bool) -> None:
    from marketplace.cli.output import emit_json, note

    for line in change.notes:
        note(f"mgx: note: {line}")
    if as_json:
        emit_json(change)
        return
    if dry_run:
        sys.stdout.write(change.diff or "(no change)\n")
        return
    if change.backup is not None and change.written:
        note(f"mgx: backup of the original: {change.backup}")
    done = [f"added {', '.join(change.added)}"] if change.added else []
    done += [f"removed {', '.join(change.removed)}"] if change.removed else []
    verb = "; ".join(done) or "nothing to change"
    sys.stdout.write(f"{change.client}: {verb} ({change.path})\n")


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
) -> None:
    """Show every known client: whether its config exists and which entries mgx added."""
    from marketplace.cli.output import emit_json, table
    from marketplace.clients import list_clients
    from marketplace.errors import ConfigError
    from marketplace.settings import Settings

    try:
        found: Project | None = _project(project)
    except ConfigError:
        if project is not None:
            raise
        found = None
    rows = list_clients(Settings.from_env(), _where(found))
    if as_json:
        emit_json(rows)
        return
    table(
        ["client", "config", "mgx entries", "other servers"],
        [
            (
                r.client,
                str(r.path) if r.present else f"(none) {r.path}",
                ", ".join(r.mgx_entries) or "-",
                r.error or (", ".join(r.other_servers) or "-"),
            )
            for r in rows
        ],
        no_wrap=["client"],
    )


@app.command("add")
def add(
    client: str = typer.Argument(..., help=CLIENT_HELP),
    toolset: str | None = typer.Option(
        None, "--toolset", "-t", help="Only this tool set (default: every locked tool)."
    ),
    per_tool: bool = typer.Option(
        False, "--per-tool", help="One entry per tool (`mgx tool run NAME`) instead of one gateway."
    ),
    direct: bool = typer.Option(
        False, "--direct", help="The raw locked invocations (no gateway; pins not enforced)."
    ),
    command: str | None = typer.Option(
        None,
        "--command",
        help="How the client starts mgx (default: `mgx` if PATH finds this mgx, else its path).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the diff; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
) -> None:
    """Add the project's tools to CLIENT's config: one gateway entry by default."""
    from marketplace.clients import (
        add_entries,
        direct_launches,
        gateway_command,
        gateway_launch,
        per_tool_launches,
    )
    from marketplace.errors import ConfigError
    from marketplace.settings import Settings

    if command is None:
        command = gateway_command()
    if per_tool and direct:
        raise ConfigError("--per-tool and --direct exclude each other")
    proj = _project(project)
    skipped: list[str] = []
    if direct:
        launches, skipped = direct_launches(proj, toolset)
    elif per_tool:
        launches = per_tool_launches(proj, toolset, command=command)
    else:
        launches = [gateway_launch(proj, toolset, command=command)]
    change = add_entries(Settings.from_env(), client, launches, where=_where(proj), dry_run=dry_run)
    from marketplace.cli.output import note

    for name in skipped:
        note(f"mgx: note: {name} left out: a remote server has no command to run")
    _render_change(change, as_json=as_json, dry_run=dry_run)


@app.command("remove")
def remove(
    client: str = typer.Argument(..., help=CLIENT_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the diff; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
) -> None:
    """Take the entries mgx added out of CLIENT's config, and nothing else."""
    from marketplace.clients import client_by_id, remove_entries
    from marketplace.errors import ConfigError
    from marketplace.settings import Settings

    found: Project | None = None
    if client_by_id(client).workspace or project is not None:
        found = _project(project)
    else:
        try:
            found = _project(None)
        except ConfigError:
            found = None
    change = remove_entries(Settings.from_env(), client, where=_where(found), dry_run=dry_run)
    _render_change(change, as_json=as_json, dry_run=dry_run)


@app.command("import")
def import_(
    client: str = typer.Argument(..., help=CLIENT_HELP),
    toolset: str | None = typer.Option(
        None, "--toolset", "-t", help="Also add the adopted tools to this tool set."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Adopt every match without asking."),
    offline: bool = typer.Option(False, "--offline", help="Use the registry cache only."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
) -> None:
    """Match CLIENT's servers to registry entries and adopt them into mgx.toml (locked)."""
    from marketplace import commands
    from marketplace.catalog import Catalog
    from marketplace.cli.output import emit_json, note, table
    from marketplace.clients import client_servers, list_clients, match_servers
    from marketplace.project import find_project
    from marketplace.settings import Settings

    settings = Settings.from_env()
    proj = find_project(project, create=True)
    where = _where(proj)
    _, servers = client_servers(client, where)
    mine = {e for r in list_clients(settings, where) if r.client == client for e in r.mgx_entries}
    with Catalog(settings, offline=True if offline else None) as catalog:
        found = match_servers(servers, catalog, skip=mine)
        matched = [c for c in found if c.server]
        adopt = yes
        if matched and not yes and not as_json:
            if not sys.stdin.isatty():
                from marketplace.errors import ConfigError

                raise ConfigError("not a terminal: pass --yes to adopt the matched servers")
            listed = ", ".join(f"{c.entry} -> {c.server}" for c in matched)
            adopt = typer.confirm(f"adopt {listed} into {proj.manifest_path}?")
        adopted = []
        if adopt:
            for cand in matched:
                result = commands.install(
                    proj,
                    cand.server,
                    toolset=toolset,
                    package_type=cand.package_type,
                    catalog=catalog,
                )
                adopted.append(result.name)
                if cand.env:
                    note(
                        f"mgx: note: {cand.entry} set {', '.join(cand.env)} in {client}; bind them "
                        f'in mgx.toml (env = {{ NAME = {{ env = "VAR" }} }}), values stay in '
                        "your environment"
                    )
    if as_json:
        emit_json({"candidates": found, "adopted": adopted})
        return
    table(
        ["entry", "package", "registry server", "why not"],
        [
            (c.entry, f"{c.package_type}:{c.package}" if c.package else "-", c.server or "-", c.why)
            for c in found
        ],
        no_wrap=["entry"],
    )
    for name in adopted:
        note(f"mgx: adopted {name} (pinned and locked in {proj.root})")
