"""``mgx tool remove NAME``: drop a tool from the manifest and the lock, then its install.

The lock stops naming the tool before its directory is deleted (and only when no other project
uses it), so a crash in between leaves an unused directory, never a lock naming a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from marketplace.commands._resolve import settle
from marketplace.errors import ConfigError
from marketplace.lockfile import dumps
from marketplace.manifest import edit_manifest, parse_manifest
from marketplace.transaction import Transaction, crash_point

if TYPE_CHECKING:
    from marketplace.project import Project

__all__ = ["RemoveResult", "remove"]


@dataclass(frozen=True, kw_only=True)
class RemoveResult:
    name: str
    version: str  # the locked version removed ("" when it was only in mgx.toml)
    deleted: list[str] = field(default_factory=list)  # install directories deleted
    project: str = ""


def remove(project: Project, name: str) -> RemoveResult:
    """Remove ``name`` (full name, short name or package identifier) from the project."""
    from marketplace.project import lookup_tool

    with Transaction(project) as txn:
        manifest = project.manifest()
        lock = project.lock()
        settle(project, lock)  # records what the lock uses before it stops using it
        known = {**dict.fromkeys(lock.tools), **dict.fromkeys(manifest.tools)}
        try:
            full = lookup_tool(known, name)
        except ConfigError:
            full = lookup_tool(lock, name)  # by package identifier, or the error naming tools
        editor = edit_manifest(
            project.manifest_path.read_text(encoding="utf-8")
            if project.manifest_path.exists()
            else ""
        )
        editor.remove_tool(full)
        text = editor.text()
        new_manifest = parse_manifest(text)
        old = lock.tools.get(full)
        new_lock = lock.without_tool(full).with_toolsets(new_manifest.toolsets)
        txn.commit(manifest=text, lock=dumps(new_lock))
        deleted = settle(project, new_lock)
        crash_point("collected")
    return RemoveResult(
        name=full, version=old.version if old else "", deleted=deleted, project=str(project.root)
    )
