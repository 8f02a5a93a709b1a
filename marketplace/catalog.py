"""The read side of the marketplace: search and look up servers across configured registries.

Everything reads the local cache (SQLite). Before answering, a registry whose data is stale
(never synced live, or synced more than a day ago) gets a quick incremental sync unless mgx
is offline (``MGX_OFFLINE=1`` / ``--offline``); a failed attempt is remembered for ten
minutes so repeated commands stay fast. When the answer comes from stale data, :attr:`notes`
holds one line per registry saying so and how old the data is; the CLI prints them on stderr.

httpx is imported only when a sync actually runs, so a search from the cache stays quick.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from marketplace.errors import NotFoundError, RegistryError
from marketplace.installable import Installability, installability
from marketplace.registries import OFFICIAL, Registry, load_registries
from marketplace.settings import Settings
from registry_cache.store import Cache, SearchHit, SyncState

if TYPE_CHECKING:
    import httpx

    from registry_cache.serverjson import Argument, Package, ServerVersion, Transport

__all__ = ["Catalog", "RankedHit", "SearchHit", "is_offline", "open_cache", "run_hint"]

STALE_AFTER = timedelta(hours=24)
RETRY_AFTER = timedelta(minutes=10)
QUICK_SYNC_TIMEOUT = 3.0  # per request
QUICK_SYNC_DEADLINE = 4.0  # whole refresh before a command (an unfinished one resumes later)


def is_offline(env: Mapping[str, str] | None = None) -> bool:
    """True when ``MGX_OFFLINE`` is set to a true value."""
    value = (os.environ if env is None else env).get("MGX_OFFLINE", "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def open_cache(settings: Settings) -> Cache:
    """The registry cache, with the bundled snapshot imported on first use."""
    cache = Cache(settings.cache_db)
    try:
        if cache.needs_snapshot():  # checked here so that later commands skip the import
            from registry_cache import snapshot

            snapshot.ensure_imported(cache, OFFICIAL)
    except BaseException:
        cache.close()
        raise
    return cache


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def describe_age(then: datetime | None, now: datetime) -> str:
    """'5 minutes ago', '3 days ago', … ('an unknown time ago' without a date)."""
    if then is None:
        return "an unknown time ago"
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


@dataclass(frozen=True, kw_only=True)
class RankedHit:
    """A search hit with this machine's verdict on installing it."""

    hit: SearchHit
    verdict: Installability


class Catalog:
    """Search and look up servers in the configured registries (via the cache).

    ``offline`` defaults to ``MGX_OFFLINE``; ``refresh=False`` never syncs (tests, mirrors).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        offline: bool | None = None,
        refresh: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.offline = is_offline() if offline is None else offline
        self.refresh = refresh
        self._transport = transport
        self._cache: Cache | None = None
        self._checked: set[str] = set()
        self._notes: dict[str, str] = {}

    # --- plumbing ----------------------------------------------------------------------------

    @property
    def cache(self) -> Cache:
        if self._cache is None:
            self._cache = open_cache(self.settings)
        return self._cache

    @property
    def notes(self) -> list[str]:
        """One line per registry answered from stale data (for stderr)."""
        return list(self._notes.values())

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def registries(self, name: str | None = None) -> list[Registry]:
        """The enabled registries to consult (just ``name`` if given), freshened if stale."""
        if name is None:
            chosen = load_registries(self.settings)
        else:
            from marketplace.registries import get_registry

            chosen = [get_registry(self.settings, name)]
        for registry in chosen:
            if registry.name not in self._checked:
                self._checked.add(registry.name)
                self._freshen(registry)
        return chosen

    def _freshen(self, registry: Registry) -> None:
        now = datetime.now(UTC)
        state = self.cache.sync_state(registry.name)
        last_success = _parse_time(state.last_success) if state else None
        if last_success is not None and now - last_success < STALE_AFTER:
            return
        if self.offline:
            self._note(registry, state, now, "offline")
            return
        if not self.refresh:
            return
        last_failure = _parse_time(state.last_failure) if state else None
        if (
            last_failure is not None
            and now - last_failure < RETRY_AFTER
            and (last_success is None or last_failure > last_success)
        ):
            self._note(registry, state, now, "unreachable")
            return
        from marketplace.sync import sync_registry

        try:
            sync_registry(
                self.settings,
                registry,
                cache=self.cache,
                timeout=QUICK_SYNC_TIMEOUT,
                retries=0,
                deadline_s=QUICK_SYNC_DEADLINE,
                transport=self._transport,
                wait_for_lock=0,
            )
        except RegistryError:
            self._note(registry, self.cache.sync_state(registry.name), now, "unreachable")

    def _note(self, registry: Registry, state: SyncState | None, now: datetime, why: str) -> None:
        name = registry.name
        if why == "offline":
            subject = f"offline: registry {name!r}"
        elif (
            state is not None
            and state.resume_cursor
            and "did not finish" in (state.last_error or "")
        ):
            subject = f"registry {name!r} is not fully synced yet (`mgx registry sync {name}`)"
        else:
            subject = f"registry {name!r} unreachable"
        if state is None or state.data_as_of is None:
            self._notes[name] = f"{subject}; no cached data for it yet"
            return
        age = describe_age(_parse_time(state.data_as_of), now)
        source = "bundled snapshot" if state.source == "snapshot" else "last sync"
        self._notes[name] = f"{subject}; showing cached data from {age} ({source})"

    # --- queries -----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        types: Sequence[str] = (),
        transport: str | None = None,
        registry: str | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        """Ranked servers matching ``query`` (latest version each; deleted ones hidden)."""
        from marketplace.errors import ConfigError
        from registry_cache.errors import CacheError

        names = [r.name for r in self.registries(registry)]
        try:
            return self.cache.search(
                query, types=types, transport=transport, registries=names, limit=limit
            )
        except CacheError as exc:  # a bad filter value: the user's input, say so as such
            raise ConfigError(str(exc)) from exc

    def search_installable(
        self,
        query: str,
        *,
        types: Sequence[str] = (),
        transport: str | None = None,
        registry: str | None = None,
        limit: int = 20,
        installable_only: bool = False,
    ) -> list[RankedHit]:
        """Like :meth:`search`, installable servers first (relevance order kept within each).

        A wider window is searched so that an installable server just below the first
        ``limit`` matches is not lost behind entries that cannot be installed; with
        ``installable_only`` the others are left out.
        """
        window = min(500, max(limit * 4, 50))
        hits = self.search(query, types=types, transport=transport, registry=registry, limit=window)
        ranked = [RankedHit(hit=h, verdict=installability(h.package_types)) for h in hits]
        ranked.sort(key=lambda r: not r.verdict.installable)  # stable: relevance within groups
        if installable_only:
            ranked = [r for r in ranked if r.verdict.installable]
        return ranked[:limit]

    def locate(self, name: str, *, registry: str | None = None) -> tuple[Registry, str]:
        """The registry that provides ``name`` and the server's full name.

        A name without ``/`` (``server-time``, ``mcp-server-time``) is accepted when exactly
        one server's short name or package identifier matches it.
        """
        candidates = self.registries(registry)
        for reg in candidates:
            if self.cache.has_server(name, registry=reg.name):
                return reg, name
        if "/" not in name or name.startswith("@"):  # a short name or an npm package name
            matches = {
                (h.registry, h.name)
                for h in self.cache.search(name, registries=[r.name for r in candidates], limit=50)
                if name.lower() in (h.name.rsplit("/", 1)[-1].lower(),)
                or name.lower() in self._identifiers(h)
            }
            if len(matches) == 1:
                reg_name, full = matches.pop()
                return next(r for r in candidates if r.name == reg_name), full
            if len(matches) > 1:
                listed = ", ".join(sorted(n for _, n in matches))
                raise NotFoundError(f"{name!r} is ambiguous: it could be {listed}")
        where = ", ".join(r.name for r in candidates) or "no enabled registry"
        raise NotFoundError(f"no server named {name!r} in {where}; find one with `mgx tool search`")

    def _identifiers(self, hit: SearchHit) -> set[str]:
        sv = self.cache.get(hit.name, registry=hit.registry)
        return {p.identifier.lower() for p in sv.packages} if sv else set()

    def versions(
        self, name: str, *, registry: str | None = None, include_deleted: bool = False
    ) -> list[ServerVersion]:
        """Every version of ``name``, newest first; NotFoundError if the server is unknown."""
        reg, full = self.locate(name, registry=registry)
        found = self.cache.versions(full, registry=reg.name, include_deleted=include_deleted)
        if not found:
            raise NotFoundError(f"server {full!r} has no available versions (all deleted)")
        return found

    def get(
        self,
        name: str,
        version: str = "latest",
        *,
        registry: str | None = None,
        include_deleted: bool = False,
    ) -> ServerVersion:
        """One version of ``name`` (``"latest"`` = current); NotFoundError naming known ones."""
        reg, full = self.locate(name, registry=registry)
        found = self.cache.get(full, version, registry=reg.name, include_deleted=include_deleted)
        if found is None:
            known = [v.version for v in self.cache.versions(full, registry=reg.name)]
            shown = ", ".join(known[:8]) + (", …" if len(known) > 8 else "")
            raise NotFoundError(
                f"server {full!r} has no version {version!r} in registry {reg.name!r}"
                + (f" (available: {shown})" if known else " (every version is deleted)")
            )
        return found

    def registry_url_for(self, name: str, *, registry: str | None = None) -> str:
        """Base URL of the registry that provides ``name`` (for provenance in the lock)."""
        reg, _ = self.locate(name, registry=registry)
        return reg.url


# --- how a package would run -------------------------------------------------------------------


def _argument_text(arg: Argument) -> str:
    value = arg.value if arg.value is not None else arg.default
    shown = value if value is not None else f"<{arg.value_hint or arg.name or 'value'}>"
    if arg.type == "named":
        text = f"{arg.name} {shown}" if (arg.value is not None or arg.value_hint) else str(arg.name)
        if arg.value is None and arg.value_hint is None and arg.default is not None:
            text = f"{arg.name} {arg.default}"
    else:
        text = shown
    if arg.is_repeated:
        text += " ..."
    return text if arg.is_required or arg.value is not None else f"[{text}]"


def _args(args: Sequence[Argument]) -> list[str]:
    return [_argument_text(a) for a in args]


def run_hint(package: Package) -> str:
    """A human-readable command line showing how ``package`` would be started.

    For display only (``mgx tool info``); installs build their exact invocation themselves.
    """
    version = package.version
    runtime = _args(package.runtime_arguments)
    rest = _args(package.package_arguments)
    kind, ident = package.registry_type, package.identifier
    if kind == "pypi":
        target = f"{ident}=={version}" if version else ident
        cmd = [package.runtime_hint or "uvx", *runtime, target, *rest]
    elif kind == "npm":
        target = f"{ident}@{version}" if version else ident
        hint = package.runtime_hint or "npx"
        cmd = [
            hint,
            *(["-y"] if hint == "npx" and "-y" not in runtime else []),
            *runtime,
            target,
            *rest,
        ]
    elif kind == "oci":
        tagged = (
            ident
            if (":" in ident.rsplit("/", 1)[-1] or "@" in ident or not version)
            else (f"{ident}:{version}")
        )
        cmd = ["docker", "run", "-i", "--rm", *runtime, tagged, *rest]
    elif kind == "nuget":
        target = f"{ident}@{version}" if version else ident
        cmd = [
            package.runtime_hint or "dnx",
            *runtime,
            target,
            "--yes",
            *(["--", *rest] if rest else []),
        ]
    elif kind == "mcpb":
        digest = f" (sha256 {package.file_sha256[:12]}…)" if package.file_sha256 else ""
        return f"download {ident}{digest}, then run the bundle"
    else:
        target = f"{ident}@{version}" if version else ident
        cmd = [package.runtime_hint or kind, *runtime, target, *rest]
    return " ".join(cmd)


def remote_hint(remote: Transport) -> str:
    headers = ", ".join(h.name for h in remote.headers)
    return f"{remote.type} {remote.url}" + (f" (headers: {headers})" if headers else "")
