"""`mgx tool install | remove | list | outdated | update | sync | check | export`.

Each command finds the project, calls one function of ``marketplace.commands`` and renders its
result (a table or ``--json`` on stdout, notes and progress on stderr).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from marketplace.catalog import Catalog
    from marketplace.project import Project

PROJECT_HELP = "Project directory holding mgx.toml (default: $MGX_PROJECT, else the nearest one)."
CHECK_HELP = "Do not start the server to prove it runs before recording it."
TIMEOUT_HELP = "Seconds the server may take to start and list its tools."
OFFLINE_HELP = "Use the registry cache only; never contact a registry."


def _project(project: Path | None, *, create: bool = False) -> Project:
    from marketplace.project import find_project

    return find_project(project, create=create)


def _catalog(project: Project, offline: bool) -> Catalog:
    from marketplace.catalog import Catalog

    return Catalog(project.settings, offline=True if offline else None)


@contextlib.contextmanager
def _status(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A rich spinner on stderr showing the current step (nothing when not on a terminal)."""
    if not enabled or not sys.stderr.isatty():
        yield lambda _message: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("working") as status:
        yield lambda message: status.update(message)


def _notes(lines: list[str], *, prefix: str = "mgx: note: ") -> None:
    from marketplace.cli.output import note

    for line in lines:
        note(prefix + line)


def _notes_and_json(result: Any, warnings: list[str], *, as_json: bool) -> bool:
    """Notes and ``warnings`` on stderr, then ``result`` as JSON on stdout when asked.

    True when the JSON went out: the command has nothing more to show.
    """
    from marketplace.cli.output import emit_json

    _notes(result.notes)
    _notes(warnings, prefix="mgx: warning: ")
    if as_json:
        emit_json(result)
    return as_json


def install(
    spec: str = typer.Argument(
        ...,
        metavar="NAME[@SPEC]",
        help="Server name (full, short or package name), optionally with a version specifier: "
        "1.2.3, ^1.2, ~1.2.3, '>=1 <2', 1.x or latest.",
    ),
    toolset: str | None = typer.Option(
        None, "--toolset", "-t", help="Also add the tool to this tool set (created if needed)."
    ),
    type_: str | None = typer.Option(
        None,
        "--type",
        help="Package type to install when the server ships several: pypi, npm, mcpb, oci or "
        "remote (default: mgx's preference order and what this machine can run).",
    ),
    resolve_mode: str | None = typer.Option(
        None,
        "--resolve",
        help="Resolve dependencies as of the version's publish date ('publish', the default) "
        "or against today's packages ('now').",
    ),
    allow_scripts: bool = typer.Option(
        False, "--allow-scripts", help="Let npm run the packages' install scripts (off: safer)."
    ),
    env: list[str] = typer.Option(
        [],
        "--env",
        "-e",
        metavar="NAME=VAR",
        help="Bind the server's variable NAME to the environment variable VAR (repeatable; "
        "recorded in mgx.toml, never a value).",
    ),
    arg: list[str] = typer.Option(
        [],
        "--arg",
        "-a",
        metavar="KEY=VALUE",
        help="Give the server's non-secret input KEY this value (repeatable).",
    ),
    no_check: bool = typer.Option(False, "--no-check", help=CHECK_HELP),
    timeout: float = typer.Option(90.0, "--check-timeout", min=1.0, help=TIMEOUT_HELP),
    offline: bool = typer.Option(False, "--offline", help=OFFLINE_HELP),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Install a tool, prove it starts, and pin it in mgx.lock (creating mgx.toml if needed)."""
    from marketplace.cli.output import note
    from marketplace.commands import install as do_install
    from marketplace.commands import split_name
    from marketplace.commands.install import parse_bindings

    name, version = split_name(spec)
    env_bindings, arg_values = parse_bindings(env, arg)
    proj = _project(project, create=True)
    with _catalog(proj, offline) as catalog, _status(not as_json) as progress:
        result = do_install(
            proj,
            name,
            version,
            toolset=toolset,
            package_type=type_,
            resolve_mode=resolve_mode,
            allow_scripts=allow_scripts,
            check=not no_check,
            check_timeout=timeout,
            catalog=catalog,
            progress=progress,
            env=env_bindings,
            args=arg_values,
        )
    if _notes_and_json(result, result.warnings, as_json=as_json):
        return
    what = "installed" if result.changed else "already installed"
    package = f"{result.package_type} {result.identifier}" + (
        f" {result.package_version}" if result.package_version else ""
    )
    note(f"{what} {result.name} {result.version} ({package}) in {result.project}")
    if result.cutoff and result.changed:
        note(f"  dependencies resolved as of: {result.cutoff}")
    if result.checked:
        note(f"  started and listed {len(result.tools)} tools: {', '.join(result.tools)}")
    elif result.check_skipped:
        note(f"  start check {result.check_skipped}")
    if result.toolsets:
        note(f"  tool sets: {', '.join(result.toolsets)}")


def remove(
    name: str = typer.Argument(..., help="The tool to remove (full, short or package name)."),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Remove a tool from mgx.toml and mgx.lock, and delete its install if no project uses it."""
    from marketplace.cli.output import emit_json, note
    from marketplace.commands import remove as do_remove

    result = do_remove(_project(project), name)
    if as_json:
        emit_json(result)
        return
    version = f" {result.version}" if result.version else ""
    freed = f" (deleted {len(result.deleted)} install)" if result.deleted else ""
    note(f"removed {result.name}{version}{freed}")


def list_(
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the tools as JSON."),
) -> None:
    """List the project's tools: locked version, package, transport, installed or not."""
    from marketplace.cli.output import emit_json, note, table
    from marketplace.commands import list_tools

    rows = list_tools(_project(project))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        note("no tools in this project; add one with `mgx tool install NAME`")
        return
    table(
        ["NAME", "VERSION", "SPEC", "PACKAGE", "TRANSPORT", "STATE", "TOOL SETS"],
        [
            [
                r.name,
                r.version or "-",
                r.spec,
                f"{r.package_type} {r.identifier} {r.package_version}".strip() or "-",
                r.transport or "-",
                ("installed" if r.installed else "not installed") if r.version else "not locked",
                ", ".join(r.toolsets) or "-",
            ]
            for r in rows
        ],
        no_wrap=("NAME", "VERSION", "SPEC", "STATE"),
        one_line=("PACKAGE",),
    )


def outdated(
    offline: bool = typer.Option(False, "--offline", help=OFFLINE_HELP),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the outdated tools as JSON."),
) -> None:
    """Show locked tools with newer versions (wanted: allowed by mgx.toml; latest: newest)."""
    from marketplace.cli.output import note, table
    from marketplace.commands import outdated as do_outdated

    proj = _project(project)
    with _catalog(proj, offline) as catalog:
        report = do_outdated(proj, catalog=catalog)
    if _notes_and_json(report, report.errors, as_json=as_json):
        return
    if not report.rows:
        note("every tool is up to date")
        return
    table(
        ["NAME", "CURRENT", "WANTED", "LATEST", "SPEC"],
        [
            [
                r.name,
                r.current + (" (deprecated)" if r.deprecated else ""),
                r.wanted,
                r.latest,
                r.spec,
            ]
            for r in report.rows
        ],
        no_wrap=("NAME", "CURRENT", "WANTED", "LATEST", "SPEC"),
    )


def update(
    name: str | None = typer.Argument(None, help="Update only this tool (default: every tool)."),
    no_check: bool = typer.Option(False, "--no-check", help=CHECK_HELP),
    timeout: float = typer.Option(90.0, "--check-timeout", min=1.0, help=TIMEOUT_HELP),
    offline: bool = typer.Option(False, "--offline", help=OFFLINE_HELP),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Move tools to the newest version their mgx.toml specifier allows, and re-lock."""
    from marketplace.cli.output import note
    from marketplace.commands import update as do_update

    proj = _project(project)
    with _catalog(proj, offline) as catalog, _status(not as_json) as progress:
        result = do_update(
            proj,
            name,
            check=not no_check,
            check_timeout=timeout,
            catalog=catalog,
            progress=progress,
        )
    if _notes_and_json(result, result.warnings, as_json=as_json):
        return
    for change in result.changes:
        note(f"updated {change.name} {change.old or '(new)'} -> {change.new}")
    if not result.changes:
        note("nothing to update")


def sync(
    frozen: bool = typer.Option(
        False,
        "--frozen",
        help="Install exactly mgx.lock; fail if it does not satisfy mgx.toml (never resolves).",
    ),
    no_check: bool = typer.Option(False, "--no-check", help=CHECK_HELP),
    timeout: float = typer.Option(90.0, "--check-timeout", min=1.0, help=TIMEOUT_HELP),
    offline: bool = typer.Option(False, "--offline", help=OFFLINE_HELP),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Make the installed tools match mgx.lock (resolving manifest changes unless --frozen)."""
    from marketplace.cli.output import note
    from marketplace.commands import sync as do_sync

    proj = _project(project)
    with contextlib.ExitStack() as stack:
        catalog = None if frozen else stack.enter_context(_catalog(proj, offline))
        progress = stack.enter_context(_status(not as_json))
        result = do_sync(
            proj,
            frozen=frozen,
            check=not no_check,
            check_timeout=timeout,
            catalog=catalog,
            progress=progress,
        )
    if _notes_and_json(result, result.warnings, as_json=as_json):
        return
    parts = [f"{len(result.installed)} installed", f"{len(result.present)} already present"]
    if result.resolved:
        parts.append(f"{len(result.resolved)} resolved")
    if result.dropped:
        parts.append(f"{len(result.dropped)} dropped")
    note("synced: " + ", ".join(parts))


def check(
    name: str = typer.Argument(..., help="The tool to start (full, short or package name)."),
    timeout: float = typer.Option(60.0, "--timeout", min=1.0, help=TIMEOUT_HELP),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Start an installed tool over MCP, list its tools, and stop it (proves it runs)."""
    from marketplace.cli.output import emit_json
    from marketplace.commands import check as do_check

    proj = _project(project)
    with _status(not as_json) as progress:
        report = do_check(proj, name, timeout=timeout, progress=progress)
    if as_json:
        emit_json(report)
        return
    server = f"{report.server_name} {report.server_version}".strip()
    typer.echo(
        f"{report.name} {report.version}: started ({server or 'unnamed server'}) in "
        f"{report.seconds:.1f}s, {len(report.tools)} tools"
    )
    for tool in report.tools:
        typer.echo(f"  {tool}")


def export(
    client: str = typer.Option(
        ..., "--client", help="Which client's format: claude-desktop, cursor or vscode."
    ),
    toolset: str | None = typer.Option(
        None, "--toolset", "-t", help="Only the tools of this tool set (default: all)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the config to this file (default: stdout)."
    ),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
) -> None:
    """Write an MCP client's config for the locked tools (secrets as env references)."""
    import json

    from marketplace.cli.output import note
    from marketplace.commands import export as do_export

    result = do_export(_project(project), client, toolset=toolset)
    text = json.dumps(result.config, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        from marketplace._fs import atomic_write

        atomic_write(output.expanduser().resolve(), text)
        note(f"wrote {output}")
    for name in result.skipped:
        note(f"mgx: note: {name} left out: {client} has no entry for remote servers")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the ``mgx tool`` group."""
    commands: list[tuple[str, Callable[..., Any]]] = [
        ("install", install),
        ("remove", remove),
        ("list", list_),
        ("outdated", outdated),
        ("update", update),
        ("sync", sync),
        ("check", check),
        ("export", export),
    ]
    for name, function in commands:
        app.command(name)(function)
