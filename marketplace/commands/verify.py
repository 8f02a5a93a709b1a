"""``mgx tool verify [NAME…]``: re-check installed tools without network and without starting
anything.

Each tool goes through every check of ``CHECKS`` (the invocation rule, the installed files
against their recorded hashes, the provenance stored with the install re-verified offline, the
tool-description pins); each problem is a ``Drift`` naming the check, what is wrong and the
command that fixes it. A check is ``run(settings, tool, install_dir) -> list[str]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from marketplace.lockfile import LockedTool
    from marketplace.project import Project
    from marketplace.settings import Settings

__all__ = ["CHECKS", "Drift", "IntegrityCheck", "ToolVerdict", "VerifyReport", "verify"]


@dataclass(frozen=True, kw_only=True)
class IntegrityCheck:
    """One offline check: ``run`` returns problems (empty: it holds); ``fix`` is the command
    that repairs them (``{name}`` is replaced by the tool's name)."""

    name: str
    run: Callable[[Settings, LockedTool, Path], list[str]]
    fix: str


@dataclass(frozen=True, kw_only=True)
class Drift:
    tool: str
    check: str
    detail: str
    fix: str


@dataclass(frozen=True, kw_only=True)
class ToolVerdict:
    name: str
    version: str
    ok: bool
    pins: str  # "pinned", "unpinned" or "off" (pin_tools = false in mgx.toml)
    drift: list[Drift] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class VerifyReport:
    ok: bool
    tools: list[ToolVerdict] = field(default_factory=list)


def _invocation(settings: Settings, tool: LockedTool, _: Path) -> list[str]:
    from marketplace.invocation import invocation_problems

    return invocation_problems(settings, tool)


def _files(settings: Settings, tool: LockedTool, directory: Path) -> list[str]:
    from marketplace.installers import is_installed
    from marketplace.installers._files import full_drift

    if tool.package.registry_type == "remote":
        return []
    if not is_installed(settings, tool.package):
        return ["it is not installed"]
    return full_drift(directory)


def _provenance(settings: Settings, tool: LockedTool, directory: Path) -> list[str]:
    from marketplace.provenance import reverify

    if tool.package.registry_type == "remote":
        return []
    return reverify(tool, directory)


def _pins(settings: Settings, tool: LockedTool, _: Path) -> list[str]:
    if tool.pin_tools and tool.tool_pins is None:
        return ["its tool descriptions are not pinned yet (it was never checked)"]
    return []


CHECKS: list[IntegrityCheck] = [
    IntegrityCheck(name="invocation", run=_invocation, fix="mgx tool sync"),
    IntegrityCheck(name="files", run=_files, fix="mgx tool sync --repair"),
    IntegrityCheck(name="provenance", run=_provenance, fix="mgx tool sync --repair"),
    IntegrityCheck(name="tool-pins", run=_pins, fix="mgx tool check {name}"),
]


def verify(project: Project, names: Sequence[str] = ()) -> VerifyReport:
    """Run every check on the named tools (all locked tools when ``names`` is empty)."""
    from marketplace.errors import LockError
    from marketplace.installers import tool_dir
    from marketplace.project import lookup_tool

    lock = project.lock()
    if not lock.tools:
        raise LockError(f"no tools are locked in {project.root}; run `mgx tool install NAME`")
    chosen = [lookup_tool(lock, n) for n in names] if names else sorted(lock.tools)
    verdicts = []
    for name in dict.fromkeys(chosen):
        tool = lock.tools[name]
        directory = tool_dir(project.settings, tool.package)
        drift = [
            Drift(tool=name, check=check.name, detail=problem, fix=check.fix.format(name=name))
            for check in CHECKS
            for problem in check.run(project.settings, tool, directory)
        ]
        pins = "off" if not tool.pin_tools else "pinned" if tool.tool_pins else "unpinned"
        verdicts.append(
            ToolVerdict(name=name, version=tool.version, ok=not drift, pins=pins, drift=drift)
        )
    return VerifyReport(ok=all(v.ok for v in verdicts), tools=verdicts)
