"""``mgx tool trust NAME``: accept a tool's changed descriptions and pin them again.

Starts the tool (after the invocation rule), lists its tools and compares them with the lock's
pins. Nothing changes unless ``accept`` (the CLI's prompt, or ``--yes``) approves the diff;
then the new descriptions are stored and the lock's pins replaced in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from marketplace.commands._resolve import Progress, _quiet, start_check

if TYPE_CHECKING:
    from marketplace.project import Project

__all__ = ["TrustResult", "trust"]


@dataclass(frozen=True, kw_only=True)
class TrustResult:
    name: str
    changes: list[str] = field(default_factory=list)  # empty: the pins already matched
    accepted: bool = False
    digest: str = ""  # the pinned list's digest after this run


def trust(
    project: Project,
    name: str,
    *,
    accept: Callable[[list[str]], bool],
    timeout: float = 60.0,
    progress: Progress = _quiet,
) -> TrustResult:
    """Re-pin ``name``'s tool descriptions once ``accept(changes)`` returns True."""
    from marketplace.errors import ConfigError, LockError
    from marketplace.lockfile import dumps
    from marketplace.project import lookup_tool
    from marketplace.tool_pins import (
        describe_changes,
        load_descriptions,
        pins_store,
        store_descriptions,
    )
    from marketplace.transaction import Transaction

    lock = project.lock()
    if not lock.tools:
        raise LockError(f"no tools are locked in {project.root}; run `mgx tool install NAME`")
    tool = lock.tools[lookup_tool(lock, name)]
    if not tool.pin_tools:
        raise ConfigError(
            f"{tool.name} has pin_tools = false in mgx.toml: its descriptions are not pinned"
        )
    result = start_check(project, tool, timeout=timeout, progress=progress)
    assert result.pins is not None
    store = pins_store(project.settings)
    if tool.tool_pins is None:
        changes = [f"pin {len(result.descriptions)} tools for the first time"]
    else:
        old = load_descriptions(store, tool.tool_pins)
        changes = describe_changes(tool.tool_pins, list(result.descriptions), old=old)
        if not changes:
            return TrustResult(name=tool.name, digest=tool.tool_pins.digest)
    if not accept(changes):
        return TrustResult(name=tool.name, changes=changes, digest=_digest(tool))
    store_descriptions(store, result.pins, list(result.descriptions))
    with Transaction(project) as txn:
        current = project.lock()
        if current.tools.get(tool.name) != tool:
            raise LockError(f"{tool.name} changed in mgx.lock meanwhile; run the command again")
        txn.commit(
            manifest=None, lock=dumps(current.with_tool(replace(tool, tool_pins=result.pins)))
        )
    return TrustResult(name=tool.name, changes=changes, accepted=True, digest=result.pins.digest)


def _digest(tool: object) -> str:
    pins = getattr(tool, "tool_pins", None)
    return pins.digest if pins is not None else ""
