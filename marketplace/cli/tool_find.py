"""`mgx tool search` and `mgx tool info`: find servers in the registries (via the cache)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from marketplace.catalog import Catalog
    from registry_cache.serverjson import ServerVersion

TYPE_HELP = (
    "Only servers with this package type: pypi, npm, oci, mcpb, nuget or remote (repeatable)."
)


def _catalog(offline: bool) -> Catalog:
    from marketplace.catalog import Catalog

    return Catalog(offline=True if offline else None)


def _notes(catalog: Catalog) -> None:
    from marketplace.cli.output import note

    for line in catalog.notes:
        note(f"mgx: note: {line}")


def search(
    query: str = typer.Argument(
        ..., help="Words to look for in names, titles, descriptions and packages."
    ),
    type_: list[str] = typer.Option([], "--type", "-t", metavar="TYPE", help=TYPE_HELP),
    transport: str | None = typer.Option(
        None,
        "--transport",
        metavar="TRANSPORT",
        help="Only servers offering this transport: stdio, streamable-http or sse.",
    ),
    limit: int = typer.Option(
        20, "--limit", "-n", min=1, max=500, metavar="N", help="Show at most this many results."
    ),
    registry: str | None = typer.Option(
        None, "--registry", "-r", metavar="NAME", help="Search only this configured registry."
    ),
    installable: bool = typer.Option(
        False, "--installable", help="Only servers this machine can install and run."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    offline: bool = typer.Option(
        False, "--offline", help="Use the cache only; never contact a registry."
    ),
) -> None:
    """Search MCP servers, best matches first; those installable here before the others."""
    with _catalog(offline) as catalog:
        ranked = catalog.search_installable(
            query,
            types=type_,
            transport=transport,
            registry=registry,
            limit=limit,
            installable_only=installable,
        )
        _notes(catalog)
    from marketplace.cli.search_view import render_search

    render_search(ranked, query, as_json=as_json)


def _split_spec(spec: str) -> tuple[str, str]:
    """``name@version`` -> (name, version); an npm ``@scope/pkg`` keeps its leading @."""
    at = spec.rfind("@")
    if at > 0:
        return spec[:at], spec[at + 1 :] or "latest"
    return spec, "latest"


def _env_rows(sv: ServerVersion) -> list[dict[str, Any]]:
    """Environment variables across packages, one row per name (packages often repeat them)."""
    rows: dict[str, dict[str, Any]] = {}
    for package in sv.packages:
        for env in package.environment_variables:
            row = rows.setdefault(
                env.name,
                {
                    "name": env.name,
                    "required": env.is_required,
                    "secret": env.is_secret,
                    "default": env.default,
                    "description": env.description,
                    "packages": [],
                },
            )
            row["required"] = row["required"] or env.is_required
            row["secret"] = row["secret"] or env.is_secret
            row["packages"].append(package.identifier)
    return list(rows.values())


def _locked_here(name: str) -> dict[str, Any] | None:
    """The current project's lock entry summary for ``name`` (None outside a project)."""
    from marketplace.errors import MarketplaceError
    from marketplace.project import find_project

    try:
        tool = find_project().lock().tools.get(name)
    except MarketplaceError:
        return None
    if tool is None:
        return None
    v = tool.verification
    return {
        "version": tool.version,
        "verification": str(v.get("status", "unverified")),
        "reason": str(v.get("reason", "")),
        "signer": str(v.get("repository", "")),
    }


def info(
    spec: str = typer.Argument(
        ..., metavar="NAME[@VERSION]", help="Server name, optionally with a version."
    ),
    registry: str | None = typer.Option(
        None, "--registry", "-r", metavar="NAME", help="Look only in this configured registry."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the details as JSON."),
    offline: bool = typer.Option(
        False, "--offline", help="Use the cache only; never contact a registry."
    ),
) -> None:
    """Show a server: versions, packages and how they run, transports, env vars, status."""
    from marketplace.catalog import remote_hint, run_hint
    from marketplace.cli.output import emit_json

    name, version = _split_spec(spec)
    with _catalog(offline) as catalog:
        reg, full = catalog.locate(name, registry=registry)
        sv = catalog.get(full, version, registry=reg.name)
        versions = catalog.versions(full, registry=reg.name, include_deleted=True)
        _notes(catalog)
    env_rows = _env_rows(sv)
    locked = _locked_here(sv.name)
    from marketplace.installable import installability, server_types

    verdict = installability(server_types(sv))
    if as_json:
        emit_json(
            {
                "name": sv.name,
                "version": sv.version,
                "registry": reg.name,
                "registryUrl": reg.url,
                "status": sv.meta.status,
                "statusMessage": sv.meta.status_message,
                "curated": sv.meta.curated,
                "installable": verdict.installable,
                "installableTypes": list(verdict.usable),
                "notInstallableReason": verdict.reason or None,
                "publishedAt": sv.meta.published_at,
                "versions": [
                    {
                        "version": v.version,
                        "status": v.meta.status,
                        "publishedAt": v.meta.published_at,
                        "isLatest": v.meta.is_latest,
                    }
                    for v in versions
                ],
                "packages": [
                    {
                        "registryType": p.registry_type,
                        "identifier": p.identifier,
                        "version": p.version,
                        "transport": p.transport.type,
                        "run": run_hint(p),
                    }
                    for p in sv.packages
                ],
                "remotes": [{"type": r.type, "url": r.url} for r in sv.remotes],
                "environmentVariables": env_rows,
                "locked": locked,  # this project's lock entry and its provenance, if any
                "server": sv.raw,
                "_meta": sv.raw_meta,
            }
        )
        return
    out: list[str] = []
    marks = (" [curated]" if sv.meta.curated else "") + (
        f" [{sv.meta.status.upper()}]" if sv.meta.status != "active" else ""
    )
    out.append(f"{sv.name} {sv.version}{marks}")
    out.append(f"  {sv.title + ': ' if sv.title else ''}{sv.description}")
    if sv.meta.status_message:
        out.append(f"  status: {sv.meta.status} — {sv.meta.status_message}")
    if verdict.installable:
        out.append(f"  installable here: yes ({', '.join(verdict.usable)})")
    else:
        out.append(f"  installable here: NO ({verdict.reason}); `mgx tool install` will refuse it")
    out.append(f"  registry: {reg.name} ({reg.url})")
    if sv.meta.published_at:
        out.append(f"  published: {sv.meta.published_at}")
    if sv.repository:
        sub = f" ({sv.repository.subfolder})" if sv.repository.subfolder else ""
        out.append(f"  repository: {sv.repository.url}{sub}")
    if sv.website_url:
        out.append(f"  website: {sv.website_url}")
    if locked is not None:
        if locked["verification"] == "verified":
            mark = "verified" + (f", signed by {locked['signer']}" if locked["signer"] else "")
        else:
            why = f": {locked['reason']}" if locked["reason"] else ""
            mark = f"UNVERIFIED ({locked['verification']}{why})"
        out.append(f"  locked here: {locked['version']}, provenance {mark}")
    shown = []
    for v in versions:
        tags = [
            t
            for t in (
                "latest" if v.meta.is_latest else "",
                v.meta.status if v.meta.status != "active" else "",
            )
            if t
        ]
        shown.append(v.version + (f" ({', '.join(tags)})" if tags else ""))
    out.append("")
    out.append("versions (newest first): " + (", ".join(shown) if shown else "none"))
    if sv.packages:
        out.append("")
        out.append("packages:")
        for p in sv.packages:
            head = [p.registry_type, p.identifier, p.version or "", f"[{p.transport.type}]"]
            out.append("  " + " ".join(part for part in head if part))
            out.append(f"    run: {run_hint(p)}")
            if p.transport.url:
                out.append(f"    url: {p.transport.url}")
    if sv.remotes:
        out.append("")
        out.append("remotes:")
        for r in sv.remotes:
            out.append(f"  {remote_hint(r)}")
            for h in r.headers:
                flags = ", ".join(
                    f
                    for f in ("required" if h.is_required else "", "secret" if h.is_secret else "")
                    if f
                )
                out.append(f"    header {h.name}" + (f" ({flags})" if flags else ""))
    if env_rows:
        out.append("")
        out.append("environment variables:")
        for e in env_rows:
            flags = ", ".join(
                f
                for f in (
                    "required" if e["required"] else "optional",
                    "secret" if e["secret"] else "",
                )
                if f
            )
            desc = f": {e['description']}" if e["description"] else ""
            out.append(f"  {e['name']} ({flags}){desc}")
    typer.echo("\n".join(out))


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the ``mgx tool`` group."""
    app.command("search")(search)
    app.command("info")(info)
