"""``mgx tool update [NAME]``: move tools to the newest version their specifier allows.

The manifest is not edited (its specifiers still hold); the lock changes in one transaction
after every updated tool is installed and has passed its start check. Tools resolved against
today (``resolve = "now"``) are re-resolved even when their version is unchanged, since their
dependencies may have moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from marketplace.commands._resolve import (
    Progress,
    _quiet,
    apply_pins,
    check_registry,
    choose_version,
    install_tools,
    open_catalog,
    resolve,
    satisfied_by,
    settle,
    verify_mode,
    verify_resolved,
    verify_started,
)
from marketplace.lockfile import LockedTool, dumps
from marketplace.transaction import Transaction, crash_point

if TYPE_CHECKING:
    from marketplace.catalog import Catalog
    from marketplace.project import Project

__all__ = ["Change", "UpdateResult", "update"]


@dataclass(frozen=True, kw_only=True)
class Change:
    name: str
    old: str  # "" when the tool was not locked before
    new: str
    checked: bool = False
    check_skipped: str = ""


@dataclass(frozen=True, kw_only=True)
class UpdateResult:
    changes: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # install directories no longer used
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def update(
    project: Project,
    name: str | None = None,
    *,
    check: bool = True,
    check_timeout: float = 90.0,
    verify: str | None = None,
    allow_identity_change: bool = False,
    catalog: Catalog | None = None,
    progress: Progress = _quiet,
) -> UpdateResult:
    """Update ``name`` (or every tool) within its manifest specifier.

    Each new resolution is verified before anything is installed (``verify`` overrides the
    manifest's policy); a new signer is refused unless ``allow_identity_change``.
    """
    from marketplace.project import lookup_tool

    own = catalog is None
    catalog = catalog or open_catalog(project.settings)
    try:
        with Transaction(project) as txn:
            manifest = project.manifest()
            lock = project.lock()
            settle(project, lock)
            names = [lookup_tool(manifest.tools, name)] if name else list(manifest.tools)
            fresh: list[LockedTool] = []
            unchanged: list[str] = []
            warnings: list[str] = list(manifest.policy.notes)
            evidence = {}
            for tool_name in names:
                req = manifest.tools[tool_name]
                current = lock.tools.get(tool_name)
                registry = check_registry(project.settings, manifest, req)
                progress(f"looking up {tool_name}")
                server, _ = choose_version(catalog, req, registry)
                if (
                    current is not None
                    and server.version == current.version
                    and req.resolve != "now"
                    and satisfied_by(req, current, manifest)
                ):
                    unchanged.append(tool_name)
                    continue
                resolved = resolve(
                    catalog,
                    manifest,
                    req,
                    settings=project.settings,
                    current=current,
                    progress=progress,
                )
                warnings += resolved.warnings
                if current is not None and resolved.tool.package == current.package:
                    unchanged.append(tool_name)
                    continue
                tool, proof = verify_resolved(
                    resolved,
                    mode=verify_mode(manifest, req, verify),
                    current=current,
                    allow_identity_change=allow_identity_change,
                    progress=progress,
                )
                if proof is not None:
                    evidence[tool.name] = proof
                fresh.append(replace(tool, spec=req.version))
            crash_point("resolved")
            new_lock = lock
            for tool in fresh:
                new_lock = new_lock.with_tool(tool)
            try:
                install_tools(
                    project, fresh, keep=lock.tools.values(), evidence=evidence, progress=progress
                )
                crash_point("installed")
                outcome = verify_started(
                    project, fresh, check=check, timeout=check_timeout, progress=progress
                )
                for tool in fresh:
                    new_lock = new_lock.with_tool(apply_pins(project, tool, outcome[tool.name]))
                crash_point("checked")
                if fresh:
                    txn.commit(manifest=None, lock=dumps(new_lock))
            except BaseException:
                settle(project, lock)
                raise
            deleted = settle(project, new_lock)
            crash_point("collected")
        notes = list(catalog.notes)
    finally:
        if own:
            catalog.close()
    changes = [
        Change(
            name=t.name,
            old=lock.tools[t.name].version if t.name in lock.tools else "",
            new=t.version,
            checked=outcome[t.name].checked,
            check_skipped=outcome[t.name].skipped,
        )
        for t in fresh
    ]
    return UpdateResult(
        changes=changes, unchanged=unchanged, deleted=deleted, warnings=warnings, notes=notes
    )
