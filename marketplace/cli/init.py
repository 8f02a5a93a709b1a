"""`mgx init`: start a project from a template (or an empty manifest)."""

from __future__ import annotations

from pathlib import Path

import typer


def init(
    template: str | None = typer.Option(
        None, "--template", "-t", metavar="NAME", help="Start from this template (see --list)."
    ),
    list_: bool = typer.Option(False, "--list", help="List the templates and exit."),
    project: Path | None = typer.Option(
        None, "--project", "-C", help="Directory to initialise (default: the current one)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing mgx.toml."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write an mgx.toml for a common job (tools + a tool set); `mgx tool sync` installs it."""
    from marketplace.cli.output import emit_json, note, table

    if list_:
        from marketplace.templates import TEMPLATES

        if as_json:
            emit_json(
                [
                    {
                        "name": t.name,
                        "description": t.description,
                        "toolset": t.toolset,
                        "tools": [{"name": x.name, "version": x.version} for x in t.tools],
                    }
                    for t in TEMPLATES.values()
                ]
            )
            return
        table(
            ["TEMPLATE", "TOOL SET", "DESCRIPTION"],
            [[t.name, t.toolset, t.description] for t in TEMPLATES.values()],
            no_wrap=("TEMPLATE", "TOOL SET"),
        )
        return
    from marketplace.commands.init import init_project

    result = init_project(project or Path.cwd(), template, force=force)
    if as_json:
        emit_json(result)
        return
    note(f"wrote {result.path}" + (f" (template {result.template})" if result.template else ""))
    if result.tools:
        note(f"  tools: {', '.join(result.tools)}")
        if result.env:
            note(f"  set before use: {', '.join(result.env)}")
        note("  next: `mgx tool sync` installs and locks them")
