"""Shared steps of the mutating verbs: resolve a manifest entry, install it, prove it starts.

resolve: catalog → specifier → strict server.json check → package choice → pinned PackageLock.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from marketplace.errors import (
    ConfigError,
    InstallError,
    NotFoundError,
    RegistryError,
    ResolutionError,
)
from marketplace.lockfile import LockedTool, Lockfile
from marketplace.manifest import Manifest, ToolRequirement

if TYPE_CHECKING:
    from marketplace.catalog import Catalog
    from marketplace.check import CheckResult
    from marketplace.project import Project
    from marketplace.provenance import Evidence
    from marketplace.settings import Settings
    from registry_cache.serverjson import ServerVersion

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True, kw_only=True)
class Resolved:
    """A freshly resolved tool and what the user should hear about it."""

    tool: LockedTool
    warnings: tuple[str, ...] = ()
    server: ServerVersion | None = field(default=None, repr=False, compare=False)


def open_catalog(settings: Settings) -> Catalog:
    from marketplace.catalog import Catalog

    return Catalog(settings)


def check_registry(settings: Settings, manifest: Manifest, req: ToolRequirement) -> str | None:
    """The configured registry name to resolve ``req`` from (None: every enabled one)."""
    if not req.registry:
        return None
    from marketplace.registries import get_registry

    url = manifest.registries[req.registry]
    try:
        configured = get_registry(settings, req.registry)
    except ConfigError:
        raise ConfigError(
            f"mgx.toml resolves {req.name} from registry {req.registry!r} ({url}), which is not "
            f"configured here; run `mgx registry add {req.registry} {url}`"
        ) from None
    if configured.url.rstrip("/") != url.rstrip("/"):
        raise ConfigError(
            f"registry {req.registry!r} is configured as {configured.url} but mgx.toml says "
            f"{url}; make them agree (`mgx registry add {req.registry} {url}`)"
        )
    return req.registry


def server_versions(catalog: Catalog, name: str, registry: str | None) -> list[ServerVersion]:
    """Every available version of ``name``; an invalid registry entry is named as such."""
    try:
        return catalog.versions(name, registry=registry)
    except NotFoundError as exc:
        reason = _invalid_entry(catalog, name, registry)
        if reason:
            raise ResolutionError(reason) from exc
        raise


def _invalid_entry(catalog: Catalog, name: str, registry: str | None) -> str | None:
    """Ask the registries directly whether they hold ``name`` in a form the cache refused.

    A registry entry that violates the server.json schema is skipped when the cache syncs, so
    the catalog cannot find it; the user should hear that it exists and why it is refused.
    """
    if catalog.offline:
        return None
    from marketplace.registry_client import RegistryClient
    from registry_cache.errors import ServerJsonError

    try:
        registries = catalog.registries(registry)
    except ConfigError:
        return None
    for reg in registries:
        try:
            with RegistryClient(
                reg.url, label=reg.name, token=reg.token(), timeout=5.0, retries=0
            ) as client:
                client.get(name)
        except RegistryError as exc:
            if isinstance(exc.__cause__, ServerJsonError):
                return (
                    f"registry {reg.name!r} serves an invalid server.json for {name!r} "
                    f"({exc.__cause__}); refusing to install it"
                )
        except Exception:  # noqa: BLE001 - a probe for a better message; the NotFound stands
            continue
    return None


def strict_check(server: ServerVersion) -> None:
    """Refuse a server.json that violates the schema, even if a lenient cache accepted it."""
    from registry_cache.errors import ServerJsonError
    from registry_cache.serverjson import parse_server

    if not server.raw:
        return
    try:
        parse_server(server.raw, server.raw_meta or None)
    except ServerJsonError as exc:
        raise ResolutionError(
            f"the registry serves an invalid server.json for {server.name} {server.version} "
            f"({exc}); refusing to install it"
        ) from exc


def choose_version(
    catalog: Catalog,
    req: ToolRequirement,
    registry: str | None,
    *,
    prerelease: bool = False,
) -> tuple[ServerVersion, list[ServerVersion]]:
    from marketplace.specifiers import parse_spec, select

    versions = server_versions(catalog, req.name, registry)
    latest = next((v.version for v in versions if v.meta.is_latest), None)
    chosen = select(
        parse_spec(req.version),
        [v.version for v in versions],
        latest=latest,
        prerelease=prerelease,
        name=versions[0].name if versions else req.name,
    )
    return next(v for v in versions if v.version == chosen), versions


def resolve(
    catalog: Catalog,
    manifest: Manifest,
    req: ToolRequirement,
    *,
    settings: Settings,
    allow_scripts: bool = False,
    current: LockedTool | None = None,
    prerelease: bool = False,
    progress: Progress = _quiet,
) -> Resolved:
    """Pin ``req`` (network): exact server version, package, artifacts, closure, invocation.

    ``current`` is the lock's entry for the tool, if any: an ``allow_scripts`` opt-in once given
    stays with the tool.
    """
    from dataclasses import replace

    from marketplace.installers import choose_package, resolve_package, skipped_packages

    allow_scripts = allow_scripts or bool(current and current.package.allow_scripts)
    registry = check_registry(settings, manifest, req)
    progress(f"looking up {req.name}")
    server, _ = choose_version(catalog, req, registry, prerelease=prerelease)
    strict_check(server)
    warnings: list[str] = []
    if server.meta.status == "deprecated":
        why = f": {server.meta.status_message}" if server.meta.status_message else ""
        warnings.append(f"{server.name} {server.version} is deprecated{why}")
    package = choose_package(server, preferred_type=req.type or None)
    warnings += skipped_packages(server, package)  # never fall back silently
    kind = getattr(package, "registry_type", "remote")
    progress(f"resolving {server.name} {server.version} ({kind})")
    pinned = resolve_package(
        server, package, settings=settings, cutoff=req.resolve, allow_scripts=allow_scripts
    )
    secret_args = sorted(
        i.name for i in pinned.invocation.inputs if i.secret and i.name in req.args
    )
    if secret_args:
        name = secret_args[0]
        raise ConfigError(
            f"{server.name}: input {name!r} is secret and cannot be given in args; bind it to an "
            f'environment variable instead: env = {{ {name} = {{ env = "{name.upper()}" }} }}'
        )
    req = replace(req, name=server.name)
    from marketplace.invocation import store_server_json

    tool = LockedTool(
        name=server.name,
        version=server.version,
        registry=catalog.registry_url_for(server.name, registry=registry),
        package=pinned,
        spec=req.version,
        type=req.type,
        resolve=req.resolve,
        registry_name=req.registry,
        env=dict(req.env),
        args=dict(req.args),
        published_at=server.meta.published_at or "",
        server_json=store_server_json(settings, server.raw),
        pin_tools=req.pin_tools,
    )
    return Resolved(tool=tool, warnings=tuple(warnings), server=server)


def satisfied_by(req: ToolRequirement, tool: LockedTool | None, manifest: Manifest) -> bool:
    """Whether an existing lock entry already fulfils ``req`` (no resolution needed)."""
    from marketplace.lockfile import unsatisfied

    if tool is None:
        return False
    probe = Manifest(tools={req.name: req}, registries=manifest.registries)
    return not unsatisfied(probe, Lockfile(tools={req.name: tool}))


# --- provenance (between resolve and install) -------------------------------------------------


def verify_mode(manifest: Manifest, req: ToolRequirement | None, cli_mode: str | None) -> str:
    """The verification policy for one tool: ``--verify``, the tool's, then ``[policy]``."""
    from marketplace.provenance import effective

    return effective(manifest.policy.verify, req.verify if req else "", cli_mode)


def verify_resolved(
    resolved: Resolved,
    *,
    mode: str,
    current: LockedTool | None,
    allow_identity_change: bool = False,
    progress: Progress = _quiet,
) -> tuple[LockedTool, Evidence | None]:
    """Check a fresh resolution's provenance (network); ``VerificationError`` refuses it.

    Runs before anything is installed or written, so a refusal changes nothing on disk.
    """
    from marketplace.provenance import verify_tool

    tool = resolved.tool
    if mode != "off":
        progress(f"verifying {tool.name} {tool.version}")
    return verify_tool(
        tool,
        resolved.server,
        mode=mode,
        previous=current,
        allow_identity_change=allow_identity_change,
    )


def verify_locked(
    settings: Settings, tools: Iterable[LockedTool], *, modes: Mapping[str, str]
) -> dict[str, Evidence]:
    """Check locked (not re-resolved) tools before they are installed or kept.

    A tool whose lock records provenance is re-checked: offline from the copy stored with its
    install, or re-fetched and compared with the lock's digest when it is not installed yet.
    Under ``require`` a tool the lock records as anything but verified is refused.
    """
    from marketplace.errors import VerificationError
    from marketplace.installers import tool_dir
    from marketplace.provenance import frozen_check

    out: dict[str, Evidence] = {}
    for tool in tools:
        mode = modes.get(tool.name, "prefer")
        status = str(tool.verification.get("status", "unverified"))
        if mode == "require" and status != "verified":
            raise VerificationError(
                f"{tool.name} {tool.version} is locked as {status}; policy verify = "
                f'"require" refuses it (run `mgx tool update {tool.name}` to re-verify it)'
            )
        if mode == "off":
            continue
        evidence = frozen_check(tool, tool_dir(settings, tool.package))
        if evidence is not None:
            out[tool.name] = evidence
    return out


# --- installs ---------------------------------------------------------------------------------


def dir_names(settings: Settings, tools: Iterable[LockedTool]) -> set[str]:
    from marketplace.installers import tool_dir

    return {
        tool_dir(settings, t.package).name for t in tools if t.package.registry_type != "remote"
    }


def install_tools(
    project: Project,
    tools: Iterable[LockedTool],
    *,
    keep: Iterable[LockedTool] = (),
    evidence: Mapping[str, Evidence] | None = None,
    progress: Progress = _quiet,
    repair: bool = False,
) -> list[str]:
    """Install every tool not yet installed (verified, staged, atomic); returns their names.

    An installed tool whose files drifted is an ``InstallError``, or with ``repair`` is removed
    and reinstalled from the lock.

    The project's install record first names every directory it is about to use (``keep``
    too), so a concurrent removal in another project cannot delete them. ``evidence``
    (provenance by tool name) is stored with each install for offline re-checks.
    """
    from marketplace import refs
    from marketplace.installers import install_package, is_installed

    settings = project.settings
    tools = list(tools)
    refs.hold(settings, project.root, dir_names(settings, [*tools, *keep]))
    installed = []
    for tool in tools:
        if tool.package.registry_type == "remote":
            continue
        if not is_installed(settings, tool.package):
            progress(f"installing {tool.name} {tool.version} ({tool.package.registry_type})")
            install_package(tool.package, settings=settings)
            installed.append(tool.name)
        elif damaged(settings, tool, repair=repair):
            from marketplace.installers import uninstall

            progress(f"repairing {tool.name} {tool.version}: reinstalling exactly the lock")
            uninstall(settings, tool.package)
            install_package(tool.package, settings=settings)
            installed.append(tool.name)
        if evidence and tool.name in evidence:
            from marketplace.installers import tool_dir
            from marketplace.provenance import keep as keep_provenance

            keep_provenance(tool_dir(settings, tool.package), tool, evidence[tool.name])
    return installed


def damaged(settings: Settings, tool: LockedTool, *, repair: bool) -> bool:
    """Whether an installed tool's files drifted (a quick stat check; ``verify`` hashes).

    Without ``repair`` a damaged install is an ``InstallError`` whose advice repairs it.
    """
    from marketplace.installers import tool_dir
    from marketplace.installers._files import quick_drift

    drift = quick_drift(tool_dir(settings, tool.package))
    if not drift:
        return False
    if repair:
        return True
    more = f" (and {len(drift) - 1} more)" if len(drift) > 1 else ""
    raise InstallError(
        f"{tool.name} {tool.version} is installed but damaged: {drift[0]}{more}; run "
        "`mgx tool sync --repair` to reinstall exactly the locked files"
    )


def ensure_sources(
    project: Project, tools: Iterable[LockedTool], *, progress: Progress = _quiet
) -> None:
    """Make sure the server.json each tool was locked from is stored here (the invocation rule
    needs it). A fresh machine fetches it from the tool's registry, by name and version, and
    keeps it only when its digest is the lock's; nothing is fetched when all are present.
    """
    from marketplace.invocation import load_server_json, server_json_digest, store_server_json

    missing = [
        t
        for t in tools
        if t.server_json and load_server_json(project.settings, t.server_json) is None
    ]
    if not missing:
        return
    with open_catalog(project.settings) as catalog:
        for tool in missing:
            progress(f"fetching the server.json of {tool.name} {tool.version}")
            try:
                versions = catalog.versions(tool.name, registry=tool.registry_name or None)
            except RegistryError:
                continue  # the invocation check names what is missing and what to run
            for server in versions:
                if server.version == tool.version and (
                    server_json_digest(server.raw) == tool.server_json
                ):
                    store_server_json(project.settings, server.raw)
                    break


def settle(project: Project, lock: Lockfile) -> list[str]:
    """Drop installs this project no longer uses (unless another project uses them)."""
    from marketplace import refs

    return refs.settle(
        project.settings, project.root, dir_names(project.settings, lock.tools.values())
    )


# --- the start check --------------------------------------------------------------------------


def missing_values(tool: LockedTool, environ: Mapping[str, str] | None = None) -> list[str]:
    """Required env vars, headers and inputs that have no value here (names only)."""
    environ = os.environ if environ is None else environ
    inv = tool.package.invocation
    bindings = tool.env
    missing = []
    for item in (*inv.env, *inv.headers):
        if item.required and not item.value and not item.default:
            if bindings.get(item.name, item.name) not in environ:
                missing.append(bindings.get(item.name, item.name))
    for spec in inv.inputs:
        if spec.required and not spec.default and spec.name not in tool.args:
            if spec.name not in bindings or bindings[spec.name] not in environ:
                missing.append(bindings.get(spec.name, spec.name))
    return missing


def start_check(
    project: Project,
    tool: LockedTool,
    *,
    timeout: float,
    progress: Progress = _quiet,
) -> CheckResult:
    """Start the installed tool over MCP, list its tools, stop it (``InstallError`` if not)."""
    from marketplace.check import check_server
    from marketplace.project import launch_spec

    progress(f"starting {tool.name} {tool.version} to check it")
    return check_server(launch_spec(project, tool), timeout=timeout)


@dataclass(frozen=True, kw_only=True)
class Started:
    """A start check's outcome: ``checked`` with the tools listed, or why it was skipped."""

    checked: bool = False
    skipped: str = ""
    tools: tuple[str, ...] = ()
    result: CheckResult | None = field(default=None, repr=False, compare=False)


def verify_started(
    project: Project,
    tools: Iterable[LockedTool],
    *,
    check: bool,
    timeout: float,
    progress: Progress = _quiet,
    hint: bool = False,
) -> dict[str, Started]:
    """Run the start check of each tool; ``InstallError`` naming the first that does not start.

    A tool whose required values are not set is not started; ``hint`` adds to why how to check
    it once they are.
    """
    out: dict[str, Started] = {}
    for tool in tools:
        if not check:
            out[tool.name] = Started(skipped="skipped (--no-check)")
            continue
        missing = missing_values(tool)
        if missing:
            why = f"not started: {', '.join(missing)} not set"
            if hint:
                why += f" (run `mgx tool check {tool.name}` once it is)"
            out[tool.name] = Started(skipped=why)
            continue
        try:
            result = start_check(project, tool, timeout=timeout, progress=progress)
        except InstallError as exc:
            raise InstallError(
                f"{tool.name} {tool.version} installed but did not start, so nothing was "
                f"changed: {exc}"
            ) from exc
        out[tool.name] = Started(checked=True, tools=tuple(result.tools), result=result)
    return out


def apply_pins(
    project: Project, tool: LockedTool, started: Started, *, fresh: bool = True
) -> LockedTool:
    """``tool`` with the tool descriptions its start check listed pinned (and stored).

    A ``fresh`` resolution (the user asked for this version) or a tool not pinned yet takes
    the listed descriptions as its pins; an already pinned one must match them
    (``ToolPinsChanged`` otherwise). A tool not started (required values unset,
    ``--no-check``) keeps what it had and is pinned by its first ``mgx tool check``.
    """
    from dataclasses import replace

    from marketplace.tool_pins import compare_pins, pins_store, store_descriptions

    if not tool.pin_tools:
        return replace(tool, tool_pins=None)
    result = started.result
    if result is None or result.pins is None:
        return tool
    if not fresh and tool.tool_pins is not None:
        compare_pins(pins_store(project.settings), tool.name, tool.tool_pins, result.descriptions)
        return tool
    store_descriptions(pins_store(project.settings), result.pins, list(result.descriptions))
    return replace(tool, tool_pins=result.pins)
