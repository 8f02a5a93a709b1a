"""Where to send a model's requests: resolve a name or URL, and pick the least busy endpoint.

A target is a managed model (one or more ``mgx model serve`` instances: replicas), an external
endpoint registered with ``mgx model add`` (any OpenAI-compatible server: SGLang, llama.cpp,
Ollama, LM Studio, a cloud API; several URLs allowed, key from an environment variable), or a
plain URL ``http://host:port/v1`` (the model is then the first of its ``/v1/models``).

With several endpoints, :func:`pick_endpoint` reads each one's ``/metrics`` and picks the one
with the fewest waiting (then running) requests. Scrapes are cached for a short time so that a
burst of requests does not scrape every endpoint each time; ties rotate so idle replicas share
the load. Endpoints without vLLM metrics rank after those that have them.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from dataclasses import dataclass

from marketplace.settings import Settings
from runtime.errors import ModelNotFoundError, ModelServerError
from runtime.models.state import StateStore, read_api_key

METRICS_TTL_S = 1.0
_cache: dict[str, tuple[float, tuple[float, float] | None]] = {}
_turn = itertools.count()


@dataclass(frozen=True)
class ModelTarget:
    """A model the client can talk to: its name, model id, base URLs (ending in /v1), key."""

    name: str
    model: str
    endpoints: tuple[str, ...]
    api_key: str | None


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def normalize_base_url(url: str) -> str:
    """``http://h:8000`` or ``http://h:8000/v1/`` -> ``http://h:8000/v1``."""
    url = url.rstrip("/")
    for suffix in ("/chat/completions", "/completions", "/models"):
        url = url.removesuffix(suffix)
    return url if url.endswith("/v1") else f"{url}/v1"


def resolve_target(name_or_url: str, *, settings: Settings) -> ModelTarget:
    """Turn a managed name, an external name or a URL into a :class:`ModelTarget`.

    Raises ModelServerError when the name is unknown, a managed model has no live server, an
    external endpoint's key variable is unset, or a URL does not list any model.
    """
    if is_url(name_or_url):
        base = normalize_base_url(name_or_url)
        api_key = os.environ.get("MGX_API_KEY") or None
        return ModelTarget(
            name=name_or_url,
            model=_first_model(base, api_key),
            endpoints=(base,),
            api_key=api_key,
        )
    store = StateStore(settings)
    records = store.servers(name_or_url)
    if records:
        from runtime.models.serve import is_alive

        alive = [r for r in records if is_alive(r)]
        if not alive:
            raise ModelServerError(
                f"{name_or_url} is not running (its server exited; see {records[0].log_path}); "
                f"start it again with `mgx model serve`"
            )
        key_file = next((r.api_key_file for r in alive if r.api_key_file), None)
        return ModelTarget(
            name=name_or_url,
            model=alive[0].served_model,
            endpoints=tuple(r.url for r in alive),
            api_key=read_api_key(key_file) if key_file else None,
        )
    external = store.external(name_or_url)
    if external is not None:
        api_key = None
        if external.api_key_env:
            api_key = os.environ.get(external.api_key_env)
            if not api_key:
                raise ModelServerError(
                    f"{name_or_url} needs an API key in ${external.api_key_env}, which is not set"
                )
        return ModelTarget(
            name=name_or_url, model=external.model, endpoints=external.urls, api_key=api_key
        )
    raise ModelNotFoundError(
        f"no model named {name_or_url!r}: serve one (`mgx model serve`), register an endpoint "
        "(`mgx model add`), or pass a URL like http://127.0.0.1:8000/v1"
    )


async def pick_endpoint(target: ModelTarget) -> str:
    """The endpoint of ``target`` with the fewest waiting requests, per its ``/metrics``."""
    if len(target.endpoints) == 1:
        return target.endpoints[0]
    loads = await asyncio.gather(*(_load(url, target.api_key) for url in target.endpoints))
    turn = next(_turn)
    count = len(target.endpoints)

    def rank(index: int) -> tuple[int, float, float, int]:
        load = loads[index]
        if load is None:
            return (1, 0.0, 0.0, (index - turn) % count)
        waiting, running = load
        return (0, waiting, running, (index - turn) % count)

    best = min(range(count), key=rank)
    return target.endpoints[best]


def forget_metrics() -> None:
    """Drop cached scrapes (tests and benchmarks that need fresh numbers)."""
    _cache.clear()


async def _load(url: str, api_key: str | None) -> tuple[float, float] | None:
    now = time.monotonic()
    cached = _cache.get(url)
    if cached is not None and now - cached[0] < METRICS_TTL_S:
        return cached[1]
    from runtime.models.metrics import fetch_sample

    try:
        sample = await fetch_sample(url, api_key=api_key, timeout=1.0)
        load: tuple[float, float] | None = (sample.waiting, sample.running)
    except ModelServerError:
        load = None
    _cache[url] = (time.monotonic(), load)
    return load


def _first_model(base: str, api_key: str | None) -> str:
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{base}/models", headers=headers, timeout=10.0)
    except httpx.HTTPError as exc:
        raise ModelServerError(f"cannot reach {base}/models: {exc or type(exc).__name__}") from exc
    if response.status_code == 401:
        raise ModelServerError(f"{base} needs an API key: set MGX_API_KEY")
    if response.status_code != 200:
        raise ModelServerError(f"{base}/models answered HTTP {response.status_code}")
    try:
        models: list[str] = [m["id"] for m in response.json().get("data", [])]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelServerError(f"{base}/models did not return an OpenAI model list") from exc
    if not models:
        raise ModelServerError(f"{base} serves no model")
    return models[0]
