"""Sync registries into the cache: full the first time, then incremental with ``updated_since``.

Each page is upserted in its own transaction, so an interrupted sync keeps what it fetched
and readers never see half a page. A full sync ends by pruning rows it did not see; that is
how live data replaces the bundled snapshot (curated entries stay unless the registry has a
server of the same name). Only a completed sync advances the watermark; a failed one is
recorded (``last_failure``) so that callers can back off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from marketplace.errors import ConfigError, RegistryError
from marketplace.registries import Registry, load_registries
from marketplace.registry_client import (
    PAGE_LIMIT,
    RegistryClient,
    RegistryHTTPError,
    SkippedServer,
)
from marketplace.settings import Settings
from registry_cache.store import Cache, normalize_time


@dataclass(frozen=True, kw_only=True)
class SyncProgress:
    registry: str
    pages: int
    servers: int
    skipped: int


@dataclass(frozen=True, kw_only=True)
class SyncSummary:
    registry: str
    url: str
    full: bool
    resumed: bool  # a full sync that continued an interrupted one
    pages: int
    servers: int  # server versions received and stored
    skipped_invalid: int
    skipped: tuple[SkippedServer, ...]
    pruned: int  # rows dropped by a full sync (snapshot or vanished data)
    duration_s: float
    watermark: str | None


ProgressCallback = Callable[[SyncProgress], None]


def sync_registry(
    settings: Settings,
    registry: Registry,
    *,
    cache: Cache | None = None,
    full: bool = False,
    timeout: float = 15.0,
    retries: int = 3,
    deadline_s: float | None = None,
    progress: ProgressCallback | None = None,
    transport: httpx.BaseTransport | None = None,
    wait_for_lock: float = 60.0,
) -> SyncSummary:
    """Bring ``registry``'s rows in the cache up to date and return what happened.

    ``deadline_s`` bounds the whole sync (a quick refresh before a command); when it passes
    between pages the sync stops with RegistryError. Raises RegistryError on failure, after
    recording it in the cache's sync state.
    """
    from filelock import FileLock, Timeout

    from marketplace.catalog import open_cache

    own_cache = cache is None
    cache = cache or open_cache(settings)
    lock = FileLock(f"{settings.cache_db}.sync-{registry.name}.lock")
    try:
        try:
            lock.acquire(timeout=wait_for_lock)
        except Timeout:
            raise RegistryError(
                f"another mgx process is syncing registry {registry.name!r}; try again later"
            ) from None
        try:
            return _sync(
                cache,
                registry,
                full=full,
                timeout=timeout,
                retries=retries,
                deadline_s=deadline_s,
                progress=progress,
                transport=transport,
            )
        except RegistryError as exc:
            cache.record_failure(registry.name, str(exc))
            raise
        finally:
            lock.release()
    finally:
        if own_cache:
            cache.close()


def _sync(
    cache: Cache,
    registry: Registry,
    *,
    full: bool,
    timeout: float,
    retries: int,
    deadline_s: float | None,
    progress: ProgressCallback | None,
    transport: httpx.BaseTransport | None,
) -> SyncSummary:
    started = time.monotonic()
    state = cache.sync_state(registry.name)
    since = None
    if not full and state is not None and state.source == "live" and state.watermark:
        since = state.watermark
    is_full = since is None
    # An unfinished full sync (deadline, network loss, Ctrl-C) continues where it stopped.
    resume = (
        state
        if is_full and not full and state is not None and state.resume_cursor and state.resume_gen
        else None
    )
    gen = resume.resume_gen if resume and resume.resume_gen else cache.next_gen()
    cursor = resume.resume_cursor if resume else None
    watermark = resume.partial_watermark if resume else since
    pages = servers = 0
    skipped: list[SkippedServer] = []
    seen: set[str] = set()
    with RegistryClient(
        registry.url,
        label=registry.name,
        token=registry.token(),
        timeout=timeout,
        retries=retries,
        transport=transport,
    ) as client:
        while True:
            try:
                # A full sync asks for deleted versions too, so that their status is known.
                page = client.list_page(
                    cursor=cursor,
                    limit=PAGE_LIMIT,
                    updated_since=since,
                    include_deleted=True if is_full else None,
                )
            except RegistryHTTPError as exc:
                if resume is not None and pages == 0 and exc.status == 400:
                    # the registry no longer accepts the saved cursor: start this sync over
                    resume, cursor, watermark, gen = None, None, None, cache.next_gen()
                    continue
                raise
            with cache.transaction():
                cache.upsert(registry.name, page.servers, gen=gen if is_full else 0)
                for sv in page.servers:
                    stamp = normalize_time(sv.meta.updated_at or sv.meta.published_at)
                    if stamp and (watermark is None or stamp > watermark):
                        watermark = stamp
                if is_full:
                    cache.save_progress(
                        registry.name, cursor=page.next_cursor, gen=gen, watermark=watermark
                    )
            pages += 1
            servers += len(page.servers)
            skipped.extend(page.skipped)
            if progress is not None:
                progress(
                    SyncProgress(
                        registry=registry.name, pages=pages, servers=servers, skipped=len(skipped)
                    )
                )
            if not page.next_cursor:
                break
            if page.next_cursor in seen:  # a registry bug would otherwise loop forever
                raise RegistryError(
                    f"registry {registry.name!r} repeated cursor {page.next_cursor!r}"
                )
            seen.add(page.next_cursor)
            cursor = page.next_cursor
            if deadline_s is not None and time.monotonic() - started > deadline_s:
                raise RegistryError(
                    f"sync of registry {registry.name!r} did not finish within {deadline_s:g}s "
                    f"({servers} versions so far, kept); run `mgx registry sync {registry.name}`"
                )
    pruned = cache.prune(registry.name, keep_gen=gen) if is_full else 0
    cache.record_success(registry.name, watermark=watermark)
    return SyncSummary(
        registry=registry.name,
        url=registry.url,
        full=is_full,
        resumed=resume is not None,
        pages=pages,
        servers=servers,
        skipped_invalid=len(skipped),
        skipped=tuple(skipped),
        pruned=pruned,
        duration_s=round(time.monotonic() - started, 3),
        watermark=watermark,
    )


def select_registries(settings: Settings, names: Sequence[str] = ()) -> list[Registry]:
    """The enabled registries named (all enabled ones when ``names`` is empty)."""
    enabled = load_registries(settings)
    if not names:
        return enabled
    by_name = {r.name: r for r in enabled}
    missing = [n for n in names if n not in by_name]
    if missing:
        known = ", ".join(by_name) or "none"
        raise ConfigError(
            f"no enabled registry named {missing[0]!r} (enabled: {known}); see `mgx registry list`"
        )
    return [by_name[n] for n in names]
