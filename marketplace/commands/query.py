"""Read-only verbs: ``mgx tool list`` (what the lock holds) and ``outdated`` (what is newer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from marketplace.catalog import Catalog
    from marketplace.project import Project

__all__ = ["OutdatedRow", "ToolRow", "list_tools", "outdated"]


@dataclass(frozen=True, kw_only=True)
class ToolRow:
    name: str
    version: str
    spec: str
    package_type: str
    identifier: str
    package_version: str
    transport: str
    installed: bool
    toolsets: list[str] = field(default_factory=list)
    in_manifest: bool = True
    verification: str = "unverified"
    damaged: bool = False  # installed, but files drifted (`mgx tool sync --repair`)


def list_tools(project: Project) -> list[ToolRow]:
    """Every locked tool (and manifest entries not locked yet, with an empty version)."""
    from marketplace.installers import is_installed, tool_dir
    from marketplace.installers._files import quick_drift

    manifest = project.manifest()
    lock = project.lock()
    rows = []
    for name in sorted(set(lock.tools) | set(manifest.tools)):
        tool = lock.tools.get(name)
        sets = sorted(k for k, v in lock.toolsets.items() if name in v)
        if tool is None:
            req = manifest.tools[name]
            rows.append(
                ToolRow(
                    name=name,
                    version="",
                    spec=req.version,
                    package_type=req.type,
                    identifier="",
                    package_version="",
                    transport="",
                    installed=False,
                    toolsets=sets,
                )
            )
            continue
        pkg = tool.package
        installed = pkg.registry_type == "remote" or is_installed(project.settings, pkg)
        rows.append(
            ToolRow(
                name=name,
                version=tool.version,
                spec=tool.spec,
                package_type=pkg.registry_type,
                identifier=pkg.identifier,
                package_version=pkg.version,
                transport=pkg.invocation.transport,
                installed=installed,
                damaged=installed and bool(quick_drift(tool_dir(project.settings, pkg))),
                toolsets=sets,
                in_manifest=name in manifest.tools,
                verification=str(tool.verification.get("status", "unverified")),
            )
        )
    return rows


@dataclass(frozen=True, kw_only=True)
class OutdatedRow:
    name: str
    current: str
    wanted: str  # the highest version the manifest's specifier allows
    latest: str  # the registry's latest version
    spec: str
    deprecated: bool = False


@dataclass(frozen=True, kw_only=True)
class OutdatedReport:
    rows: list[OutdatedRow]
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # tools that could not be looked up


def outdated(project: Project, *, catalog: Catalog | None = None) -> OutdatedReport:
    """Locked tools with a newer version allowed by their specifier, or a newer latest."""
    from marketplace.commands._resolve import open_catalog, server_versions
    from marketplace.errors import MarketplaceError
    from marketplace.specifiers import LATEST, parse_spec, select

    manifest = project.manifest()
    lock = project.lock()
    own = catalog is None
    catalog = catalog or open_catalog(project.settings)
    rows, errors = [], []
    try:
        for name in sorted(lock.tools):
            tool = lock.tools[name]
            req = manifest.tools.get(name)
            spec = req.version if req else tool.spec
            try:
                versions = server_versions(catalog, name, tool.registry_name or None)
                listed = [v.version for v in versions]
                is_latest = next((v.version for v in versions if v.meta.is_latest), None)
                latest = select(parse_spec(LATEST), listed, latest=is_latest)
                try:
                    wanted = select(parse_spec(spec), listed, latest=is_latest)
                except MarketplaceError:
                    wanted = tool.version
            except MarketplaceError as exc:
                errors.append(f"{name}: {exc}")
                continue
            current = next((v for v in versions if v.version == tool.version), None)
            deprecated = current is not None and current.meta.status == "deprecated"
            if wanted != tool.version or latest != tool.version or deprecated:
                rows.append(
                    OutdatedRow(
                        name=name,
                        current=tool.version,
                        wanted=wanted,
                        latest=latest,
                        spec=spec,
                        deprecated=deprecated,
                    )
                )
        notes = list(catalog.notes)
    finally:
        if own:
            catalog.close()
    return OutdatedReport(rows=rows, notes=notes, errors=errors)
