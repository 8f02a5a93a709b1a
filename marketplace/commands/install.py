"""``mgx tool install NAME[@SPEC]``: resolve, install, prove it starts, then record it.

Nothing is recorded unless every step succeeds: the lock and manifest change in one
transaction after the package is installed and its start check has passed; a failure removes
what this run installed (when no other project uses it) and leaves both files as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from marketplace.commands._resolve import (
    Progress,
    _quiet,
    apply_pins,
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
from marketplace.errors import ConfigError
from marketplace.lockfile import dumps
from marketplace.manifest import (
    PACKAGE_TYPES,
    RESOLVE_MODES,
    ToolRequirement,
    edit_manifest,
    parse_manifest,
    validate_toolset_name,
)
from marketplace.transaction import Transaction, crash_point

if TYPE_CHECKING:
    from marketplace.catalog import Catalog
    from marketplace.project import Project

__all__ = ["InstallResult", "install", "split_name"]


@dataclass(frozen=True, kw_only=True)
class InstallResult:
    name: str
    version: str
    spec: str
    package_type: str
    identifier: str
    package_version: str
    cutoff: str
    changed: bool  # False: the lock already had a satisfying, installed entry
    checked: bool
    tools: list[str] = field(default_factory=list)  # what the server listed in its check
    check_skipped: str = ""  # why the start check did not run
    toolsets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # catalog notes (stale data, offline)
    project: str = ""
    verification: str = "unverified"  # the lock's verification status
    verification_reason: str = ""  # why it is not verified, when it is not
    signer: str = ""  # the verified signer's source repository


def split_name(text: str) -> tuple[str, str | None]:
    """``NAME@SPEC`` → (NAME, SPEC); an npm-style leading ``@scope/`` is part of the name."""
    at = text.rfind("@")
    if at > 0:
        return text[:at], text[at + 1 :] or None
    return text, None


def _default_spec(version: str) -> str:
    """What to record when the user gave no specifier: ``^X.Y.Z`` for stable semver."""
    from marketplace.specifiers import coerce_version

    parsed = coerce_version(version)
    if parsed is None or parsed.prerelease or version.startswith("v"):
        return version
    return f"^{version}"


def _status(tool: object) -> str:
    verification = getattr(tool, "verification", {})
    return str(verification.get("status", "unverified"))


def install(
    project: Project,
    name: str,
    spec: str | None = None,
    *,
    toolset: str | None = None,
    package_type: str | None = None,
    resolve_mode: str | None = None,
    allow_scripts: bool = False,
    check: bool = True,
    check_timeout: float = 90.0,
    verify: str | None = None,
    allow_identity_change: bool = False,
    catalog: Catalog | None = None,
    progress: Progress = _quiet,
) -> InstallResult:
    """Add (or change) one tool in the project; see the module docstring."""
    from marketplace.project import lookup_tool
    from marketplace.specifiers import parse_spec

    if package_type and package_type not in PACKAGE_TYPES:
        raise ConfigError(f"--type must be one of {', '.join(PACKAGE_TYPES)}, got {package_type!r}")
    if resolve_mode and resolve_mode not in RESOLVE_MODES:
        raise ConfigError(f"--resolve must be one of {', '.join(RESOLVE_MODES)}")
    if toolset:
        validate_toolset_name(toolset)
    if spec is not None:
        spec = parse_spec(spec).text
    if "\x00" in name or not name.strip():
        raise ConfigError("a tool name is required")
    settings = project.settings
    own_catalog = catalog is None
    catalog = catalog or open_catalog(settings)
    try:
        with Transaction(project) as txn:
            manifest = project.manifest()
            lock = project.lock()
            settle(project, lock)  # debris of interrupted runs
            try:
                known = lookup_tool(manifest.tools, name)
            except ConfigError:
                known = None
            existing = manifest.tools.get(known) if known else None
            req = ToolRequirement(
                name=known or name,
                version=spec or (existing.version if existing else "latest"),
                type=package_type or (existing.type if existing else ""),
                registry=existing.registry if existing else "",
                resolve=resolve_mode or (existing.resolve if existing else "publish"),
                env=dict(existing.env) if existing else {},
                args=dict(existing.args) if existing else {},
                pin_tools=existing.pin_tools if existing else True,
                verify=existing.verify if existing else "",
            )
            current = lock.tools.get(req.name)
            warnings: list[str] = list(manifest.policy.notes)
            mode = verify_mode(manifest, req, verify)
            evidence = {}
            if (
                satisfied_by(req, current, manifest)
                and (not allow_scripts or current.package.allow_scripts)  # type: ignore[union-attr]
                # `--verify require` on a tool locked unverified checks it again, afresh
                and not (mode == "require" and _status(current) != "verified")
            ):
                assert current is not None
                tool = replace(current, spec=req.version)
                changed = tool != current
                evidence = verify_locked(settings, [tool], modes={tool.name: mode})
            else:
                resolved = resolve(
                    catalog,
                    manifest,
                    req,
                    settings=settings,
                    allow_scripts=allow_scripts,
                    current=current,
                    progress=progress,
                )
                tool, proof = verify_resolved(
                    resolved,
                    mode=mode,
                    current=current,
                    allow_identity_change=allow_identity_change,
                    progress=progress,
                )
                evidence = {tool.name: proof} if proof is not None else {}
                changed = True
                warnings += resolved.warnings
                if spec is None and existing is None:
                    tool = replace(tool, spec=_default_spec(tool.version))
                req = replace(req, name=tool.name, version=tool.spec)
            crash_point("resolved")

            try:
                install_tools(
                    project,
                    [tool],
                    keep=lock.tools.values(),
                    evidence=evidence,
                    progress=progress,
                )
                crash_point("installed")
                started = verify_started(
                    project,
                    [tool],
                    check=check,
                    timeout=check_timeout,
                    progress=progress,
                    hint=True,
                )[tool.name]
                tool = apply_pins(project, tool, started, fresh=changed)
                crash_point("checked")

                editor = edit_manifest(
                    project.manifest_path.read_text(encoding="utf-8")
                    if project.manifest_path.exists()
                    else ""
                )
                editor.set_tool(req)
                if toolset:
                    editor.add_to_toolset(toolset, req.name)
                new_manifest_text = editor.text()
                new_manifest = parse_manifest(new_manifest_text)
                new_lock = lock.with_tool(tool).with_toolsets(new_manifest.toolsets)
                new_lock_text = dumps(new_lock)
                old_lock_text = (
                    project.lock_path.read_text(encoding="utf-8") if project.has_lock() else None
                )
                if new_lock_text != old_lock_text or editor.changed:
                    txn.commit(manifest=new_manifest_text, lock=new_lock_text)
            except BaseException:
                settle(project, lock)  # roll back: drop what this run installed
                raise
            settle(project, new_lock)
            crash_point("collected")
    finally:
        if own_catalog:
            catalog.close()
    sets = sorted(k for k, v in new_manifest.toolsets.items() if tool.name in v)
    return InstallResult(
        name=tool.name,
        version=tool.version,
        spec=tool.spec,
        package_type=tool.package.registry_type,
        identifier=tool.package.identifier,
        package_version=tool.package.version,
        cutoff=tool.package.cutoff,
        changed=changed,
        checked=started.checked,
        tools=list(started.tools),
        check_skipped=started.skipped,
        toolsets=sets,
        warnings=warnings,
        notes=list(catalog.notes),
        project=str(project.root),
        verification=str(tool.verification.get("status", "unverified")),
        verification_reason=str(tool.verification.get("reason", "")),
        signer=str(tool.verification.get("repository", "")),
    )
