"""The one check every locked tool passes before the gateway starts its server.

``preflight`` is called by ``mgx tool serve`` and ``mgx tool run`` right before a server's
process is started (servers start lazily, so this runs at a tool's first call, not at gateway
start). It is deliberately one function: the lock-enforcement checks (the invocation rule,
verification status under the policy, pinned tool descriptions) plug in here, and every way
the gateway starts a server goes through it.

Today it enforces what the project already promises:

- everything ``launch_spec`` enforces for every start: the tool is in the lock and installed,
  the lock's invocation is the one its package provides (``marketplace.invocation``), a
  required env value is set, and ``verify = "require"`` refuses a tool not locked verified;
- under ``"prefer"`` (the default) an unverified tool starts with a warning (the gateway logs
  it and the audit line). Pinned tool descriptions are checked by the hub at every start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from marketplace.installers import LaunchSpec
    from marketplace.lockfile import LockedTool
    from marketplace.project import Project

__all__ = ["Preflight", "preflight"]


@dataclass(frozen=True, kw_only=True)
class Preflight:
    """A tool cleared to start: how to start it, and what the user should be told."""

    launch: LaunchSpec
    warnings: list[str] = field(default_factory=list)


def preflight(project: Project, locked_tool: LockedTool) -> Preflight:
    """Check ``locked_tool`` against the project's policy; raise ``GatewayError`` to refuse.

    Marketplace errors (not installed, missing env value) propagate with their own message.
    """
    from marketplace.project import launch_spec

    launch = launch_spec(project, locked_tool)  # refuses what the lock does not promise
    status = str(locked_tool.verification.get("status", "unverified"))
    warnings: list[str] = []
    if status != "verified":
        warnings.append(f"{locked_tool.name} is {status} (its provenance was not verified)")
    return Preflight(launch=launch, warnings=warnings)
