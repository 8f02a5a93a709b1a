"""``mgx tool check NAME``: start an installed tool over MCP, list its tools, stop it.

The tool must pass the invocation rule first (``launch_spec`` refuses a forged lock). Its
listed tools are compared with the lock's pins (``ToolPinsChanged`` with a diff when they
differ); a tool not pinned yet (its install did not start it) is pinned now, in the lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from marketplace.commands._resolve import Progress, Started, _quiet, apply_pins, start_check

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
    pins: str = ""  # "matched", "recorded" (pinned by this check) or "off" (pin_tools = false)


def check(
    project: Project, name: str, *, timeout: float = 60.0, progress: Progress = _quiet
) -> CheckReport:
    """Prove the locked tool ``name`` runs; ``InstallError`` says why when it does not."""
    from marketplace.errors import LockError
    from marketplace.lockfile import dumps
    from marketplace.project import lookup_tool
    from marketplace.transaction import Transaction

    lock = project.lock()
    if not lock.tools:
        raise LockError(f"no tools are locked in {project.root}; run `mgx tool install NAME`")
    tool = lock.tools[lookup_tool(lock, name)]
    result = start_check(project, tool, timeout=timeout, progress=progress)
    pinned = apply_pins(project, tool, Started(checked=True, result=result), fresh=False)
    state = "off" if not tool.pin_tools else "matched"
    if pinned != tool:
        with Transaction(project) as txn:
            current = project.lock()
            if current.tools.get(tool.name) == tool:  # nobody changed it meanwhile
                txn.commit(manifest=None, lock=dumps(current.with_tool(pinned)))
                state = "recorded"
    return CheckReport(
        name=tool.name,
        version=tool.version,
        package_type=tool.package.registry_type,
        transport=tool.package.invocation.transport,
        server_name=result.server_name,
        server_version=result.server_version,
        tools=list(result.tools),
        seconds=result.seconds,
        pins=state,
    )
