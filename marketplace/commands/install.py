"""``mgx tool install NAME[@SPEC]``: resolve, install, prove it starts, then record it.

Nothing is recorded unless every step succeeds: the lock and manifest change in one
transaction after the package is installed and its start check has passed; a failure removes
what this run installed (when no other project uses it) and leaves both files as they were.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
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
from marketplace.lockfile import LockedTool, Lockfile, dumps
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

__all__ = ["InstallResult", "install", "parse_bindings", "split_name"]


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


def parse_bindings(
    env: Sequence[str] = (), args: Sequence[str] = ()
) -> tuple[dict[str, str], dict[str, str]]:
    """``--env NAME=VAR`` and ``--arg KEY=VALUE`` pairs, checked as mgx.toml would check them.

    ``NAME=VAR`` binds the server's variable (or input) NAME to the environment variable VAR;
    a value is never accepted for ``--env`` (mgx.toml stores no secrets).
    """
    from marketplace.manifest import parse_requirement

    def pairs(items: Sequence[str], option: str, form: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in items:
            key, sep, value = item.partition("=")
            if not sep or not key or not value:
                raise ConfigError(f"{option} expects {form}, got {item.split('=', 1)[0]!r}=…")
            out[key] = value
        return out

    env_pairs = pairs(env, "--env", "NAME=VARIABLE")
    arg_pairs = pairs(args, "--arg", "KEY=VALUE")
    entry = {
        "version": "latest",
        "env": {k: {"env": v} for k, v in env_pairs.items()},
        "args": arg_pairs,
    }
    req = parse_requirement("cli/options", entry, where="command line")
    return dict(req.env), dict(req.args)


def _check_bindings(tool: LockedTool) -> None:
    """Bindings must name what the server takes: a typo would silently bind nothing."""
    inv = tool.package.invocation
    inputs = {i.name: i for i in inv.inputs}
    takes = set(inputs) | set(inv.env_names) | {h.name for h in inv.headers}
    for name in tool.env:
        if name not in takes:
            known = ", ".join(sorted(takes)) or "none"
            raise ConfigError(f"{tool.name} takes no variable {name!r} (it takes: {known})")
    for name in tool.args:
        if name not in inputs:
            known = ", ".join(sorted(inputs)) or "none"
            raise ConfigError(f"{tool.name} takes no argument {name!r} (it takes: {known})")
        if inputs[name].secret:
            raise ConfigError(
                f"{tool.name}: input {name!r} is secret and cannot be given with --arg; bind it "
                f"to an environment variable instead: --env {name}={name.upper()}"
            )


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
    env: Mapping[str, str] | None = None,
    args: Mapping[str, str] | None = None,
) -> InstallResult:
    """Add (or change) one tool in the project; see the module docstring.

    ``env`` and ``args`` (from :func:`parse_bindings`) are merged into the tool's bindings.
    A project directory this call created (no mgx.toml before) is left as it was on failure.
    """
    fresh = not project.manifest_path.exists() and not (project.root / ".mgx").exists()
    try:
        return _install(
            project,
            name,
            spec,
            toolset=toolset,
            package_type=package_type,
            resolve_mode=resolve_mode,
            allow_scripts=allow_scripts,
            check=check,
            check_timeout=check_timeout,
            verify=verify,
            allow_identity_change=allow_identity_change,
            catalog=catalog,
            progress=progress,
            env=env or {},
            args=args or {},
        )
    except BaseException:
        if fresh:
            _drop_work_dir(project)
        raise


def _drop_work_dir(project: Project) -> None:
    """Remove the ``.mgx/`` a failed first install made, unless another run is using it.

    Nothing was recorded, so the directory is debris; but a second ``mgx`` started in the same
    directory meanwhile may hold its lock (then it stays, and that run owns it).
    """
    from marketplace._flock import LockTimeout, exclusive

    work = project.root / ".mgx"
    if not work.is_dir():
        return
    try:
        with exclusive(work / "lock", timeout=0):
            if not project.manifest_path.exists() and not (work / "journal.json").exists():
                shutil.rmtree(work, ignore_errors=True)
    except (LockTimeout, OSError):
        pass


def _install(
    project: Project,
    name: str,
    spec: str | None,
    *,
    toolset: str | None,
    package_type: str | None,
    resolve_mode: str | None,
    allow_scripts: bool,
    check: bool,
    check_timeout: float,
    verify: str | None,
    allow_identity_change: bool,
    catalog: Catalog | None,
    progress: Progress,
    env: Mapping[str, str],
    args: Mapping[str, str],
) -> InstallResult:
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
            known = _known_tool(manifest.tools, lock, name)
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
                if env or args:  # new bindings only: the pin stands, no resolution needed
                    req = replace(req, env={**req.env, **env}, args={**req.args, **args})
                    tool = replace(tool, env=dict(req.env), args=dict(req.args))
                    changed = tool != current
                evidence = verify_locked(settings, [tool], modes={tool.name: mode})
            else:
                req = replace(req, env={**req.env, **env}, args={**req.args, **args})
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
            _check_bindings(tool)
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


def _known_tool(manifest_tools: Mapping[str, object], lock: Lockfile, name: str) -> str | None:
    """The project's full name for ``name`` (full, short or package name), None if new.

    The package name is looked up in the lock: without it ``install mcp-server-time`` would
    re-resolve a tool the project already has under ``io.github.…/time``.
    """
    from marketplace.project import lookup_tool

    for where in (manifest_tools, lock):
        try:
            found = lookup_tool(where, name)
        except ConfigError:
            continue
        if found in manifest_tools:
            return found
    return None
