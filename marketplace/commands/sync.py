"""``mgx tool sync [--frozen]``: make the installed set match the lock (like ``npm ci``).

``--frozen`` never resolves: it fails when the lock does not satisfy the manifest, and then
installs exactly what the lock names (digests checked by the installers). It uses no network
when everything is installed. Without ``--frozen``, entries the manifest added or changed are
resolved first (and checked), entries it dropped leave the lock, and the lock is rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from marketplace.commands._resolve import (
    Progress,
    _quiet,
    install_tools,
    open_catalog,
    resolve,
    satisfied_by,
    settle,
    verify_locked,
    verify_mode,
    verify_resolved,
    verify_started,
)
from marketplace.errors import LockError
from marketplace.lockfile import LOCK_NAME, LockedTool, Lockfile, dumps, read_lock, unsatisfied
from marketplace.transaction import Transaction, crash_point

if TYPE_CHECKING:
    from marketplace.catalog import Catalog
    from marketplace.project import Project

__all__ = ["SyncResult", "sync"]


@dataclass(frozen=True, kw_only=True)
class SyncResult:
    installed: list[str] = field(default_factory=list)  # tools installed by this run
    present: list[str] = field(default_factory=list)  # already installed
    resolved: list[str] = field(default_factory=list)  # (re)resolved into the lock
    dropped: list[str] = field(default_factory=list)  # left the lock (gone from mgx.toml)
    deleted: list[str] = field(default_factory=list)  # install directories removed
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def sync(
    project: Project,
    *,
    frozen: bool = False,
    check: bool = True,
    check_timeout: float = 90.0,
    verify: str | None = None,
    allow_identity_change: bool = False,
    catalog: Catalog | None = None,
    progress: Progress = _quiet,
) -> SyncResult:
    """Install exactly the lock (``frozen``), or bring the lock up to the manifest first.

    Provenance: fresh resolutions are verified as ``install`` does; locked tools have the
    provenance the lock records re-checked (offline when stored with the install).
    """
    if frozen:
        return _frozen(project, progress, verify)
    own = catalog is None
    catalog = catalog or open_catalog(project.settings)
    try:
        with Transaction(project) as txn:
            manifest = project.manifest()
            lock = project.lock()
            settle(project, lock)
            tools: dict[str, LockedTool] = {}
            fresh: list[LockedTool] = []
            warnings: list[str] = list(manifest.policy.notes)
            modes = {
                name: verify_mode(manifest, req, verify) for name, req in manifest.tools.items()
            }
            kept: list[LockedTool] = []
            evidence = {}
            for name, req in manifest.tools.items():
                current = lock.tools.get(name)
                if current is not None and satisfied_by(req, current, manifest):
                    tools[name] = current
                    kept.append(current)
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
                tool, proof = verify_resolved(
                    resolved,
                    mode=modes[name],
                    current=current,
                    allow_identity_change=allow_identity_change,
                    progress=progress,
                )
                if proof is not None:
                    evidence[name] = proof
                tools[name] = tool
                fresh.append(tool)
            evidence.update(verify_locked(project.settings, kept, modes=modes))
            crash_point("resolved")
            new_lock = Lockfile(tools=tools, toolsets=manifest.toolsets)
            try:
                before = _installed(project, tools.values())
                installed = install_tools(
                    project,
                    tools.values(),
                    keep=lock.tools.values(),
                    evidence=evidence,
                    progress=progress,
                )
                crash_point("installed")
                verify_started(
                    project, fresh, check=check, timeout=check_timeout, progress=progress
                )
                crash_point("checked")
                text = dumps(new_lock)
                old_text = (
                    project.lock_path.read_text(encoding="utf-8") if project.has_lock() else None
                )
                if text != old_text:
                    txn.commit(manifest=None, lock=text)
            except BaseException:
                settle(project, lock)
                raise
            deleted = settle(project, new_lock)
        notes = list(catalog.notes)
    finally:
        if own:
            catalog.close()
    return SyncResult(
        installed=installed,
        present=sorted(before),
        resolved=[t.name for t in fresh],
        dropped=sorted(set(lock.tools) - set(tools)),
        deleted=deleted,
        warnings=warnings,
        notes=notes,
    )


def _installed(project: Project, tools: object) -> list[str]:
    from marketplace.installers import is_installed

    return [
        t.name
        for t in tools  # type: ignore[attr-defined]
        if t.package.registry_type == "remote" or is_installed(project.settings, t.package)
    ]


def _frozen(project: Project, progress: Progress, verify: str | None) -> SyncResult:
    with Transaction(project):
        lock = read_lock(project.lock_path)
        if lock is None:
            raise LockError(
                f"--frozen needs {LOCK_NAME}, and {project.root} has none; run `mgx tool sync`"
            )
        manifest = project.manifest(strict=False)
        problems = unsatisfied(manifest, lock)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise LockError(
                f"{LOCK_NAME} does not satisfy mgx.toml: {problems[0]}{more}; run `mgx tool "
                "sync` without --frozen to update the lock"
            )
        before = _installed(project, lock.tools.values())
        modes = {n: verify_mode(manifest, manifest.tools.get(n), verify) for n in lock.tools}
        evidence = verify_locked(project.settings, lock.tools.values(), modes=modes)
        installed = install_tools(
            project, lock.tools.values(), evidence=evidence, progress=progress
        )
        crash_point("installed")
        deleted = settle(project, lock)
    return SyncResult(installed=installed, present=sorted(before), deleted=deleted)
