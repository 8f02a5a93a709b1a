"""`mgx registry …` commands: configure registries, sync the cache, serve it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from marketplace.sync import SyncSummary

app = typer.Typer(help="Manage registries and the local registry cache.", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="A short name for the registry (e.g. team)."),
    url: str = typer.Argument(..., help="Base URL of the registry (serving /v0.1/servers)."),
    token_env: str | None = typer.Option(
        None,
        "--token-env",
        help="Environment variable holding a bearer token (its value is never stored).",
    ),
    insecure: bool = typer.Option(
        False,
        "--insecure",
        help="Accept a plain http:// URL on a host other than loopback (unencrypted).",
    ),
) -> None:
    """Add a private or team registry (or point 'official' at a mirror).

    A URL with user:password@ is refused (use --token-env), and so is plain http:// except
    on loopback unless --insecure is given.
    """
    from marketplace.cli.output import note
    from marketplace.registries import add_registry
    from marketplace.settings import Settings

    registry = add_registry(Settings.from_env(), name, url, token_env=token_env, insecure=insecure)
    token = f" (token from ${registry.token_env})" if registry.token_env else ""
    plain = " (insecure: plain http)" if registry.insecure else ""
    note(
        f"registry {registry.name!r} -> {registry.display_url}{token}{plain}; "
        f"run `mgx registry sync {name}`"
    )


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print the registries as JSON."),
) -> None:
    """List configured registries and the state of their cached data."""
    from marketplace.catalog import open_cache
    from marketplace.cli.output import emit_json, table
    from marketplace.registries import all_registries, redact_url
    from marketplace.settings import Settings

    settings = Settings.from_env()
    registries = all_registries(settings)
    rows = []
    with open_cache(settings) as cache:
        for r in registries:
            state = cache.sync_state(r.name)
            rows.append(
                {
                    "name": r.name,
                    "url": r.display_url,
                    "tokenEnv": r.token_env,
                    "enabled": r.enabled,
                    "versions": cache.count(r.name),
                    "source": state.source if state else None,
                    "dataAsOf": state.data_as_of if state else None,
                    "lastSuccess": state.last_success if state else None,
                    "lastFailure": state.last_failure if state else None,
                    # an error message may quote a URL; never show credentials in one
                    "lastError": redact_url(state.last_error)
                    if state and state.last_error
                    else None,
                }
            )
    if as_json:
        emit_json(rows)
        return
    table(
        ["NAME", "URL", "TOKEN ENV", "ENABLED", "VERSIONS", "DATA", "LAST ERROR"],
        [
            [
                r["name"],
                r["url"],
                r["tokenEnv"] or "-",
                "yes" if r["enabled"] else "no",
                r["versions"],
                f"{r['source'] or 'none'} {r['dataAsOf'] or ''}".strip(),
                r["lastError"] or "-",
            ]
            for r in rows
        ],
        no_wrap=("NAME", "URL", "VERSIONS"),
        one_line=("LAST ERROR",),
    )


@app.command("remove")
def remove(
    name: str = typer.Argument(
        ..., help="The registry to remove ('official' is disabled instead)."
    ),
) -> None:
    """Remove a registry and its cached data (removing 'official' disables it)."""
    from marketplace.cli.output import note
    from marketplace.registries import OFFICIAL, remove_registry
    from marketplace.settings import Settings

    remove_registry(Settings.from_env(), name)
    if name == OFFICIAL:
        note(
            "registry 'official' disabled; `mgx registry add official "
            "https://registry.modelcontextprotocol.io` re-enables it"
        )
    else:
        note(f"registry {name!r} removed")


def _summary_line(s: SyncSummary) -> str:
    kind = ("resumed full" if s.resumed else "full") if s.full else "incremental"
    extra = f", {s.pruned} stale rows dropped" if s.pruned else ""
    skipped = f", {s.skipped_invalid} invalid skipped" if s.skipped_invalid else ""
    return (
        f"{s.registry}: {kind} sync, {s.servers} versions in {s.pages} pages"
        f"{skipped}{extra} ({s.duration_s:.2f}s)"
    )


@app.command("sync")
def sync(
    name: str | None = typer.Argument(
        None, help="Sync only this registry (default: every enabled one)."
    ),
    full: bool = typer.Option(
        False, "--full", help="Fetch everything again instead of changes since the last sync."
    ),
    timeout: float = typer.Option(
        15.0, "--timeout", min=0.1, help="Seconds to wait for each request."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the sync summaries as JSON."),
) -> None:
    """Fetch registry data into the local cache (replaces the bundled snapshot when reachable)."""
    from marketplace.cli.output import emit_json, note
    from marketplace.errors import RegistryError
    from marketplace.settings import Settings
    from marketplace.sync import SyncProgress, select_registries, sync_registry

    settings = Settings.from_env()
    registries = select_registries(settings, [name] if name else [])
    show_bar = not as_json and sys.stderr.isatty()
    summaries: list[SyncSummary] = []
    failures: list[str] = []
    for registry in registries:
        with _progress(show_bar, registry.name) as update:

            def progress(p: SyncProgress, update: Update = update) -> None:
                update(p.pages, p.servers, p.skipped)

            try:
                summaries.append(
                    sync_registry(settings, registry, full=full, timeout=timeout, progress=progress)
                )
            except RegistryError as exc:
                if len(registries) == 1:
                    raise
                failures.append(str(exc))
    if as_json:
        emit_json(
            [
                {
                    "registry": s.registry,
                    "url": s.url,
                    "full": s.full,
                    "resumed": s.resumed,
                    "pages": s.pages,
                    "servers": s.servers,
                    "skippedInvalid": s.skipped_invalid,
                    "skipped": [
                        {"name": k.name, "version": k.version, "reason": k.reason}
                        for k in s.skipped
                    ],
                    "pruned": s.pruned,
                    "durationSeconds": s.duration_s,
                    "watermark": s.watermark,
                }
                for s in summaries
            ]
        )
    else:
        for s in summaries:
            note(_summary_line(s))
            for k in s.skipped[:10]:
                note(f"  skipped {k.name or '?'} {k.version or '?'}: {k.reason}")
    if failures:
        raise RegistryError(
            failures[0] + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")
        )


Update = Callable[[int, int, int], None]


@contextmanager
def _progress(enabled: bool, name: str) -> Iterator[Update]:
    """A rich spinner with counts on stderr, or nothing when not on a terminal."""
    if not enabled:
        yield lambda pages, servers, skipped: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(f"syncing {name}", total=None)

    def update(pages: int, servers: int, skipped: int) -> None:
        extra = f", {skipped} skipped" if skipped else ""
        bar.update(task, description=f"syncing {name}: {pages} pages, {servers} versions{extra}")

    with bar:
        yield update


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(
        8080, "--port", "-p", min=0, max=65535, help="Port to listen on (0 picks a free one)."
    ),
    registry: str = typer.Option(
        "official", "--registry", "-r", help="Which registry's cached data to serve."
    ),
    cache_path: Path | None = typer.Option(
        None, "--cache", help="Serve this cache file instead of mgx's own (read-only)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not log requests."),
) -> None:
    """Serve the cache over the MCP Registry API (/v0.1) as a private or offline mirror."""
    from marketplace.catalog import open_cache
    from marketplace.cli.output import note
    from marketplace.settings import Settings
    from registry_cache.server import make_server, serve_forever, url_of

    if cache_path is None:
        settings = Settings.from_env()
        open_cache(settings).close()  # creates it (with the bundled snapshot) if needed
        cache_path = settings.cache_db

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")

    server = make_server(
        cache_path, registry=registry, host=host, port=port, log=None if quiet else log
    )
    count = server.cache.count(registry)
    note(
        f"mgx: serving registry {registry!r} ({count} versions) at {url_of(server)} "
        "(Ctrl-C to stop)"
    )
    sys.stderr.flush()
    try:
        serve_forever(server)
    except KeyboardInterrupt:
        note("mgx: registry server stopped")
