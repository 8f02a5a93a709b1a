"""`mgx tool install | remove | list | outdated | update | sync | check | export | verify | trust`.

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
VERIFY_HELP = (
    "Provenance policy for this run: require (refuse anything not verified), prefer (verify "
    "when provenance exists; install others marked unverified) or off. Default: mgx.toml's."
)
IDENTITY_HELP = "Accept a version signed by another identity than the one mgx.lock records."


def _verify_option(value: str | None) -> str | None:
    """Check ``--verify`` before anything runs (a typo must not fall back to a default)."""
    if value is None:
        return None
    from marketplace.provenance import parse_mode

    return parse_mode(value, where="--verify")[0]


def _mark(status: str, reason: str, signer: str) -> str:
    """How a tool's verification reads in install output."""
    if status == "verified":
        return "verified" + (f" (signed by {signer})" if signer else "")
    return f"UNVERIFIED ({status}{': ' + reason if reason else ''})"


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
        help="Package type to install when the server ships several: pypi, npm, mcpb, nuget, "
        "oci or remote (default: mgx's preference order and what this machine can run).",
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
    verify: str | None = typer.Option(None, "--verify", help=VERIFY_HELP),
    allow_identity_change: bool = typer.Option(
        False, "--allow-identity-change", help=IDENTITY_HELP
    ),
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
    mode = _verify_option(verify)
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
            verify=mode,
            allow_identity_change=allow_identity_change,
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
    note("  provenance: " + _mark(result.verification, result.verification_reason, result.signer))
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
        ["NAME", "VERSION", "SPEC", "PACKAGE", "TRANSPORT", "STATE", "PROVENANCE", "TOOL SETS"],
        [
            [
                r.name,
                r.version or "-",
                r.spec,
                f"{r.package_type} {r.identifier} {r.package_version}".strip() or "-",
                r.transport or "-",
                _state(r),
                (
                    r.verification
                    if r.verification == "verified"
                    else f"UNVERIFIED ({r.verification})"
                )
                if r.version
                else "-",
                ", ".join(r.toolsets) or "-",
            ]
            for r in rows
        ],
        no_wrap=("NAME", "VERSION", "SPEC", "STATE"),
        one_line=("PACKAGE",),
    )


def _state(row: Any) -> str:
    if not row.version:
        return "not locked"
    if row.damaged:
        return "damaged (mgx tool sync --repair)"
    return "installed" if row.installed else "not installed"


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
    verify: str | None = typer.Option(None, "--verify", help=VERIFY_HELP),
    allow_identity_change: bool = typer.Option(
        False, "--allow-identity-change", help=IDENTITY_HELP
    ),
    offline: bool = typer.Option(False, "--offline", help=OFFLINE_HELP),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Move tools to the newest version their mgx.toml specifier allows, and re-lock."""
    from marketplace.cli.output import note
    from marketplace.commands import update as do_update

    mode = _verify_option(verify)
    proj = _project(project)
    with _catalog(proj, offline) as catalog, _status(not as_json) as progress:
        result = do_update(
            proj,
            name,
            check=not no_check,
            check_timeout=timeout,
            verify=mode,
            allow_identity_change=allow_identity_change,
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
    repair: bool = typer.Option(
        False,
        "--repair",
        help="Reinstall, exactly as locked, every tool whose installed files drifted.",
    ),
    verify: str | None = typer.Option(None, "--verify", help=VERIFY_HELP),
    allow_identity_change: bool = typer.Option(
        False, "--allow-identity-change", help=IDENTITY_HELP
    ),
    offline: bool = typer.Option(False, "--offline", help=OFFLINE_HELP),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Make the installed tools match mgx.lock (resolving manifest changes unless --frozen)."""
    from marketplace.cli.output import note
    from marketplace.commands import sync as do_sync

    mode = _verify_option(verify)
    proj = _project(project)
    with contextlib.ExitStack() as stack:
        catalog = None if frozen else stack.enter_context(_catalog(proj, offline))
        progress = stack.enter_context(_status(not as_json))
        result = do_sync(
            proj,
            frozen=frozen,
            check=not no_check,
            check_timeout=timeout,
            verify=mode,
            allow_identity_change=allow_identity_change,
            catalog=catalog,
            progress=progress,
            repair=repair,
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
    from marketplace.cli.output import emit_json, note
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
    if report.pins == "recorded":
        note(f"mgx: note: pinned the descriptions of {len(report.tools)} tools in mgx.lock")
    elif report.pins == "off":
        note("mgx: note: tool descriptions are not pinned (pin_tools = false in mgx.toml)")


def verify(
    names: list[str] | None = typer.Argument(
        None, metavar="[NAME]...", help="Tools to verify (default: every locked tool)."
    ),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Re-check installed tools offline, starting nothing: invocation, files, tool pins.

    Exits 0 when everything holds; otherwise lists each drift with the command that fixes it
    and exits 1.
    """
    from marketplace.cli.output import emit_json
    from marketplace.commands import verify as do_verify

    report = do_verify(_project(project), names or ())
    if as_json:
        emit_json(report)
    else:
        for tool in report.tools:
            pins = {"off": ", tool pins off (pin_tools = false)", "unpinned": ", not pinned"}
            state = "ok" if tool.ok else f"{len(tool.drift)} problem(s)"
            typer.echo(f"{tool.name} {tool.version}: {state}{pins.get(tool.pins, '')}")
            for d in tool.drift:
                typer.echo(f"  {d.check}: {d.detail} (fix: `{d.fix}`)")
    if not report.ok:
        raise typer.Exit(1)


def trust(
    name: str = typer.Argument(..., help="The tool whose tool descriptions to accept."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Accept the changes without asking."),
    timeout: float = typer.Option(60.0, "--timeout", min=1.0, help=TIMEOUT_HELP),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Show how a tool's descriptions changed since they were pinned and re-pin them."""
    from marketplace.cli.output import emit_json, note
    from marketplace.commands import trust as do_trust
    from marketplace.errors import ConfigError

    def accept(changes: list[str]) -> bool:
        for line in changes:
            note(f"  {line}")
        if yes:
            return True
        if not sys.stdin.isatty():
            raise ConfigError("not on a terminal: pass --yes to accept these changes")
        return typer.confirm("Trust these tool descriptions and pin them?", default=False)

    proj = _project(project)
    with _status(False) as progress:
        result = do_trust(proj, name, accept=accept, timeout=timeout, progress=progress)
    if as_json:
        emit_json(result)
    elif not result.changes:
        note(f"{result.name}: its tools match the pinned descriptions; nothing to trust")
    elif result.accepted:
        note(f"{result.name}: pinned its tool descriptions ({result.digest[:19]}…) in mgx.lock")
    else:
        note(f"{result.name}: not trusted; the lock is unchanged")
    if result.changes and not result.accepted:
        raise typer.Exit(1)


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
    force: bool = typer.Option(
        False, "--force", help="Overwrite an existing --output file (to merge, `mgx client add`)."
    ),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
) -> None:
    """Write an MCP client's config for the locked tools (secrets as env references)."""
    import json

    from marketplace.cli.output import note
    from marketplace.commands import export as do_export
    from marketplace.errors import ConfigError

    target = output.expanduser().resolve() if output is not None else None
    if target is not None:
        # Checked before anything is computed: an existing client config must not be lost.
        if not target.parent.is_dir():
            raise ConfigError(f"directory {target.parent} does not exist")
        if target.exists() and not force:
            raise ConfigError(
                f"{output} exists; pass --force to overwrite it, or merge into it with "
                f"`mgx client add {client}`"
            )
    result = do_export(_project(project), client, toolset=toolset)
    text = json.dumps(result.config, indent=2) + "\n"
    if target is None:
        sys.stdout.write(text)
    else:
        from marketplace._fs import atomic_write

        atomic_write(target, text)
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
        ("verify", verify),
        ("trust", trust),
    ]
    for name, function in commands:
        app.command(name)(function)
