"""What models mgx knows: managed servers and external endpoints; their health and load.

Backs ``mgx model list | status | stats | add | remove``.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass

from marketplace.settings import Settings
from runtime.errors import ModelInputError, ModelNotFoundError, ModelServerError
from runtime.models.endpoints import is_url, normalize_base_url, resolve_target
from runtime.models.metrics import MetricsSample, ModelStats, compute_stats, fetch_sample
from runtime.models.state import ExternalRecord, ServerRecord, StateStore, check_name

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, kw_only=True)
class ModelEntry:
    """One row of ``mgx model list``."""

    name: str
    kind: str  # "managed" or "external"
    model: str
    endpoints: tuple[str, ...]
    alive: int  # managed: live processes; external: URLs answering /models now


@dataclass(frozen=True, kw_only=True)
class InstanceStatus:
    """One endpoint of ``mgx model status``."""

    name: str
    kind: str
    model: str
    url: str
    pid: int | None
    process_alive: bool | None
    healthy: bool
    uptime_s: float | None
    parser: str | None
    chat_template: str | None
    api_key: str | None  # where the key comes from (a file path or $VAR), never the key
    log_path: str | None


@dataclass(frozen=True, kw_only=True)
class EndpointStats:
    """One endpoint of ``mgx model stats``."""

    name: str
    url: str
    stats: ModelStats | None
    error: str | None = None


async def list_models(*, settings: Settings) -> list[ModelEntry]:
    """Every managed model (grouped over replicas) and external endpoint, by name.

    ``alive`` counts live processes of a managed model and, for an external endpoint, the
    URLs that answer ``/models`` now (probed concurrently): an unreachable one is not up."""
    from runtime.models.serve import is_alive

    store = StateStore(settings)
    grouped: dict[str, list[ServerRecord]] = {}
    for record in store.servers():
        grouped.setdefault(record.name, []).append(record)
    entries = [
        ModelEntry(
            name=name,
            kind="managed",
            model=records[0].model,
            endpoints=tuple(r.url for r in records),
            alive=sum(1 for r in records if is_alive(r)),
        )
        for name, records in grouped.items()
    ]
    externals = store.externals()
    answers = await asyncio.gather(*(_models_ok(url) for e in externals for url in e.urls))
    up = iter(answers)
    for e in externals:
        alive = sum(1 for _ in e.urls if next(up))
        entries.append(
            ModelEntry(name=e.name, kind="external", model=e.model, endpoints=e.urls, alive=alive)
        )
    return sorted(entries, key=lambda e: e.name)


async def model_status(*, settings: Settings, name: str | None = None) -> list[InstanceStatus]:
    """Health of every endpoint (of ``name``, or of all models), probed concurrently."""
    from runtime.models.serve import check_health, is_alive

    store = StateStore(settings)
    rows: list[InstanceStatus] = []
    probes = []
    records = store.servers(name)
    externals = [e for e in store.externals() if name is None or e.name == name]
    if name is not None and not records and not externals:
        raise ModelNotFoundError(f"no model named {name}; see `mgx model list`")
    now = time.time()
    for record in records:
        alive = is_alive(record)
        probes.append(check_health(record.url) if alive else _false())
        rows.append(
            InstanceStatus(
                name=record.name,
                kind="managed",
                model=record.served_model,
                url=record.url,
                pid=record.pid,
                process_alive=alive,
                healthy=False,
                uptime_s=now - record.started_at if alive else None,
                parser=record.parser,
                chat_template=record.chat_template,
                api_key=record.api_key_file,
                log_path=record.log_path,
            )
        )
    for external in externals:
        for url in external.urls:
            probes.append(_models_ok(url))
            rows.append(
                InstanceStatus(
                    name=external.name,
                    kind="external",
                    model=external.model,
                    url=url,
                    pid=None,
                    process_alive=None,
                    healthy=False,
                    uptime_s=None,
                    parser=None,
                    chat_template=None,
                    api_key=f"${external.api_key_env}" if external.api_key_env else None,
                    log_path=None,
                )
            )
    healthy = await asyncio.gather(*probes)
    return [
        InstanceStatus(**{**row.__dict__, "healthy": ok})
        for row, ok in zip(rows, healthy, strict=True)
    ]


async def collect_stats(
    name_or_url: str, *, settings: Settings, interval: float = 1.0
) -> list[EndpointStats]:
    """Scrape every endpoint twice, ``interval`` seconds apart, and compute rates."""
    target = resolve_target(name_or_url, settings=settings)
    first = await asyncio.gather(
        *(_sample_or_error(url, target.api_key) for url in target.endpoints)
    )
    await asyncio.sleep(interval)
    second = await asyncio.gather(
        *(_sample_or_error(url, target.api_key) for url in target.endpoints)
    )
    results = []
    for url, before, after in zip(target.endpoints, first, second, strict=True):
        if isinstance(after, str):
            results.append(EndpointStats(name=target.name, url=url, stats=None, error=after))
            continue
        previous = before if not isinstance(before, str) else None
        results.append(
            EndpointStats(name=target.name, url=url, stats=compute_stats(after, previous))
        )
    return results


def add_external(
    name: str,
    *,
    urls: list[str],
    model: str,
    api_key_env: str | None,
    settings: Settings,
    replace: bool = False,
) -> ExternalRecord:
    """Register an OpenAI-compatible endpoint under ``name`` (the key stays in the env var)."""
    check_name(name)
    if not urls:
        raise ModelInputError("give at least one --url")
    bad = [u for u in urls if not is_url(u)]
    if bad:
        raise ModelInputError(f"not an http(s) URL: {bad[0]}")
    if api_key_env is not None and not _ENV_NAME.match(api_key_env):
        raise ModelInputError(
            f"--api-key-env takes the NAME of an environment variable, not {api_key_env!r}"
        )
    store = StateStore(settings)
    record = ExternalRecord(
        name=name,
        urls=tuple(dict.fromkeys(normalize_base_url(u) for u in urls)),
        model=model,
        api_key_env=api_key_env,
    )
    with store.locked():
        if store.servers(name):
            raise ModelInputError(f"{name} is a managed model; choose another name")
        if store.external(name) is not None and not replace:
            raise ModelInputError(f"{name} is already registered; pass --replace to change it")
        store.save_external(record)
    return record


def remove_external(name: str, *, settings: Settings) -> None:
    """Forget the external endpoint ``name``."""
    store = StateStore(settings)
    with store.locked():
        if not store.remove_external(name):
            if store.servers(name):
                raise ModelInputError(f"{name} is a managed model: use `mgx model stop {name}`")
            raise ModelNotFoundError(f"no external endpoint named {name}")


async def _sample_or_error(url: str, api_key: str | None) -> MetricsSample | str:
    try:
        return await fetch_sample(url, api_key=api_key)
    except ModelServerError as exc:
        return str(exc)


async def _false() -> bool:
    return False


async def _models_ok(url: str) -> bool:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            response = await client.get(f"{url}/models")
    except httpx.HTTPError:
        return False
    return response.status_code in (200, 401)  # 401: up, and asking for the key
