"""The one place where the runtime reads what the marketplace produced: lock -> ServerSpecs.

``mgx.lock`` pins every tool (its ``PackageLock``, with the invocation) and names tool sets;
the manifest's env bindings and argument values are copied into it. The marketplace turns one
locked tool into a ``LaunchSpec`` (absolute argv, env values read from the environment now,
transport, URL, headers), failing on a missing required value, an uninstalled tool or an
invocation the lock cannot justify (``marketplace.invocation``) before anything starts; this
module maps those onto the runtime's ``ServerSpec`` and gives each tool the short name that
prefixes its functions (``time__get_current_time``) and its pinned tool descriptions, which
the tool hub compares at every start.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.tools import ServerSpec

if TYPE_CHECKING:
    from marketplace.installers import LaunchSpec
    from marketplace.lockfile import LockedTool
    from marketplace.project import Project
    from marketplace.settings import Settings
    from runtime.tools._model import Transport

__all__ = ["load_toolset", "server_spec", "short_names"]


def load_toolset(
    settings: Settings,
    project_dir: Path | str | None,
    toolset: str | None,
    *,
    environ: Mapping[str, str] | None = None,
) -> list[ServerSpec]:
    """The servers of ``toolset`` in the project at (or above) ``project_dir`` (None: the
    current directory or ``MGX_PROJECT``); ``toolset=None`` means every locked tool.

    Raises the marketplace's errors (``ConfigError``, ``LockError``, ``InstallError``) with
    their own messages: unknown tool set, no lock, a tool not installed, a required env var
    unset. Nothing is started here.
    """
    from marketplace.project import find_project, launch_specs

    project = find_project(project_dir, settings=settings)
    launches = launch_specs(project, toolset=toolset, environ=environ)
    names = short_names(list(launches))
    lock = project.lock()
    return [
        locked_server_spec(project, lock.tools[full], names[full], launch)
        for full, launch in launches.items()
    ]


def locked_server_spec(
    project: Project, locked: LockedTool, name: str, launch: LaunchSpec
) -> ServerSpec:
    """``server_spec`` for a locked tool, carrying its pinned tool descriptions so that every
    start (the agent's hub and the gateway's alike) refuses a changed ``tools/list``."""
    from dataclasses import replace

    from marketplace.tool_pins import pins_store

    pins = locked.tool_pins if locked.pin_tools else None
    spec = server_spec(name, launch)
    return replace(
        spec, tool_pins=pins, pins_store=pins_store(project.settings), lock_name=locked.name
    )


def short_names(full_names: list[str]) -> dict[str, str]:
    """``io.github.org/server-time`` -> ``server-time``, unless two tools share that last
    segment (then both keep their full names; the tool hub sanitises them)."""
    last = {name: name.rsplit("/", 1)[-1] for name in full_names}
    counts: dict[str, int] = {}
    for short in last.values():
        counts[short] = counts.get(short, 0) + 1
    return {name: last[name] if counts[last[name]] == 1 else name for name in full_names}


def server_spec(name: str, launch: LaunchSpec) -> ServerSpec:
    """The ``ServerSpec`` for a marketplace ``LaunchSpec`` (``name`` prefixes its functions)."""
    transport: Transport = "streamable-http"  # any other transport
    if launch.transport == "stdio":
        transport = "stdio"
    elif launch.transport == "sse":
        transport = "sse"
    return ServerSpec(
        name=name,
        transport=transport,
        command=tuple(launch.command),
        env=dict(launch.env),
        cwd=launch.cwd,
        url=launch.url or None,
        headers=dict(launch.headers),
    )
