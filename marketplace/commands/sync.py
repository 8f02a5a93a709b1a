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
    apply_pins,
    damaged,
    ensure_sources,
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
from marketplace.invocation import check_invocation
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
    repair: bool = False,
) -> SyncResult:
    """Install exactly the lock (``frozen``), or bring the lock up to the manifest first.

    Every tool must pass the invocation rule (``marketplace.invocation``): with ``frozen`` a
    lock that fails it is refused before anything is installed or started; without, the tool
    is re-resolved from its registry. An install whose files drifted is refused, or with
    ``repair`` reinstalled exactly as locked.

    Provenance: fresh resolutions are verified as ``install`` does; locked tools have the
    provenance the lock records re-checked (offline when stored with the install).
    """
    if frozen:
        return _frozen(project, progress, verify, repair=repair)
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
            ensure_sources(project, lock.tools.values(), progress=progress)
            modes = {
                name: verify_mode(manifest, req, verify) for name, req in manifest.tools.items()
            }
            kept: list[LockedTool] = []
            evidence = {}
            for name, req in manifest.tools.items():
                current = lock.tools.get(name)
                if (
                    current is not None
                    and satisfied_by(req, current, manifest)
                    and not _untrusted(project, current)
                ):
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
                    repair=repair,
                )
                crash_point("installed")
                for tool in tools.values():
                    check_invocation(project.settings, tool)
                started = verify_started(
                    project, fresh, check=check, timeout=check_timeout, progress=progress
                )
                for tool in fresh:
                    tools[tool.name] = apply_pins(project, tool, started[tool.name])
                new_lock = Lockfile(tools=tools, toolsets=manifest.toolsets)
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


def _untrusted(project: Project, tool: LockedTool) -> bool:
    """Whether the lock entry fails the invocation rule (then it is re-resolved)."""
    from marketplace.installers import is_installed, tool_dir
    from marketplace.installers._files import quick_drift
    from marketplace.invocation import invocation_problems, load_server_json, package_problems

    server = load_server_json(project.settings, tool.server_json) if tool.server_json else None
    if server is None or package_problems(tool, server):
        return True
    if tool.package.registry_type == "remote":
        return bool(invocation_problems(project.settings, tool))
    if is_installed(project.settings, tool.package):
        if quick_drift(tool_dir(project.settings, tool.package)):
            return False  # a damaged install: refused (or repaired) by install_tools
        return bool(invocation_problems(project.settings, tool))
    return False  # checked once installed


def _check_before_install(project: Project, lock: Lockfile, *, repair: bool) -> None:
    """Refuse a lock that fails the invocation rule, or a damaged install, before installing
    anything.

    A tool not installed yet (or about to be repaired) can only be checked against its
    server.json here (its package's own files come with the install); it is checked in full
    right after.
    """
    from marketplace.installers import is_installed
    from marketplace.invocation import check_invocation, load_server_json, package_problems

    for tool in lock.tools.values():
        kind = tool.package.registry_type
        if kind == "remote" or (
            is_installed(project.settings, tool.package)
            and not damaged(project.settings, tool, repair=repair)
        ):
            check_invocation(project.settings, tool)
            continue
        server = load_server_json(project.settings, tool.server_json)
        if server is None or package_problems(tool, server):
            check_invocation(project.settings, tool)  # raises, naming the first problem


def _frozen(
    project: Project, progress: Progress, verify: str | None, *, repair: bool = False
) -> SyncResult:
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
        ensure_sources(project, lock.tools.values(), progress=progress)
        _check_before_install(project, lock, repair=repair)
        before = _installed(project, lock.tools.values())
        modes = {n: verify_mode(manifest, manifest.tools.get(n), verify) for n in lock.tools}
        evidence = verify_locked(project.settings, lock.tools.values(), modes=modes)
        installed = install_tools(
            project, lock.tools.values(), evidence=evidence, progress=progress, repair=repair
        )
        for name in installed:  # the others passed the full check before
            check_invocation(project.settings, lock.tools[name])
        crash_point("installed")
        deleted = settle(project, lock)
    return SyncResult(installed=installed, present=sorted(before), deleted=deleted)
