"""Teams declared in a file: MassGen's YAML (unchanged) or mgx.toml's ``[team]``.

Public surface::

    load_team_file(path)    a TeamSpec from YAML (MassGen) or TOML ([team])
    parse_team(doc)         a TeamSpec from an already parsed mapping
    find_team(project_dir)  the [team] of the project's mgx.toml, or None
    check_team(spec)        refuse what this release cannot run (one line)
    run_team(task, spec)    run it (async) -> runtime.runner.TaskOutcome
    RunSettings             the CLI's overrides (--base-url, --api-key-env, limits, files)
    FilesOptions            --output, --keep, --dry-run-writes, --session
    TeamSpec, AgentSpec, BackendSpec, McpServerEntry, WorkspaceSpec, TeamLimits
    PROVIDERS               backend type -> default base URL and API-key variables
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from runtime.teams._files import FilesOptions
from runtime.teams._parse import load_team_file, parse_team
from runtime.teams._providers import PROVIDERS, backend_problem
from runtime.teams._run import RunSettings, check_team, run_team
from runtime.teams._spec import (
    AgentSpec,
    BackendSpec,
    ContextPath,
    McpServerEntry,
    TeamLimits,
    TeamSpec,
    WorkspaceSpec,
)

__all__ = [
    "PROVIDERS",
    "AgentSpec",
    "BackendSpec",
    "ContextPath",
    "FilesOptions",
    "McpServerEntry",
    "RunSettings",
    "TeamLimits",
    "TeamSpec",
    "WorkspaceSpec",
    "backend_problem",
    "check_team",
    "find_team",
    "load_team_file",
    "parse_team",
    "run_team",
]


def find_team(project_dir: Path | None = None) -> TeamSpec | None:
    """The ``[team]`` table of the nearest mgx.toml (from ``project_dir`` or the current
    directory upwards), or None when there is no manifest or no ``[team]``."""
    import tomllib

    from runtime.errors import TeamConfigError

    start = (project_dir or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        manifest = folder / "mgx.toml"
        if manifest.is_file():
            try:
                doc = tomllib.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise TeamConfigError(f"cannot read {manifest}: {exc}") from exc
            team = doc.get("team")
            if team is None:
                return None
            spec = parse_team(team, source=f"{manifest} [team]")
            # Relative context paths of mgx.toml start at the project, not the shell.
            return replace(spec, base_dir=str(folder))
    return None
