"""``mgx tool check NAME``: start an installed tool over MCP, list its tools, stop it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from marketplace.commands._resolve import Progress, _quiet, start_check

if TYPE_CHECKING:
    from marketplace.project import Project

__all__ = ["CheckReport", "check"]


@dataclass(frozen=True, kw_only=True)
class CheckReport:
    name: str
    version: str
    package_type: str
    transport: str
    server_name: str
    server_version: str
    tools: list[str] = field(default_factory=list)
    seconds: float = 0.0


def check(
    project: Project, name: str, *, timeout: float = 60.0, progress: Progress = _quiet
) -> CheckReport:
    """Prove the locked tool ``name`` runs; ``InstallError`` says why when it does not."""
    from marketplace.errors import LockError
    from marketplace.project import lookup_tool

    lock = project.lock()
    if not lock.tools:
        raise LockError(f"no tools are locked in {project.root}; run `mgx tool install NAME`")
    tool = lock.tools[lookup_tool(lock, name)]
    result = start_check(project, tool, timeout=timeout, progress=progress)
    return CheckReport(
        name=tool.name,
        version=tool.version,
        package_type=tool.package.registry_type,
        transport=tool.package.invocation.transport,
        server_name=result.server_name,
        server_version=result.server_version,
        tools=list(result.tools),
        seconds=result.seconds,
    )
