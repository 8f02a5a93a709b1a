"""vLLM's Prometheus ``/metrics``: parse one scrape, and turn two scrapes into rates.

Metric names changed across vLLM versions, so each figure has a list of names tried in order:
the V1 engine (0.8+) exports ``vllm:kv_cache_usage_perc`` and the counters
``vllm:prefix_cache_hits`` / ``vllm:prefix_cache_queries``; older engines exported
``vllm:gpu_cache_usage_perc``, ``vllm:gpu_prefix_cache_hit_rate`` (a gauge) or
``vllm:gpu_prefix_cache_hits`` / ``_queries``, and throughput gauges
``vllm:avg_prompt_throughput_toks_per_s`` / ``vllm:avg_generation_throughput_toks_per_s``.
Samples are summed over label sets (several engines under data parallelism).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runtime.errors import ModelServerError

if TYPE_CHECKING:
    import httpx

_KV_USAGE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
_PREFIX_HITS = ("vllm:prefix_cache_hits", "vllm:gpu_prefix_cache_hits")
_PREFIX_QUERIES = ("vllm:prefix_cache_queries", "vllm:gpu_prefix_cache_queries")
_PREFIX_RATE_GAUGE = ("vllm:gpu_prefix_cache_hit_rate", "vllm:cpu_prefix_cache_hit_rate")
_TTFT = ("vllm:time_to_first_token_seconds",)
_PROMPT_TOKENS = ("vllm:prompt_tokens",)
_GENERATION_TOKENS = ("vllm:generation_tokens",)
_PROMPT_TPS_GAUGE = ("vllm:avg_prompt_throughput_toks_per_s",)
_GENERATION_TPS_GAUGE = ("vllm:avg_generation_throughput_toks_per_s",)


@dataclass(frozen=True, kw_only=True)
class MetricsSample:
    """The figures of one ``/metrics`` scrape (counters are totals since the server started)."""

    at: float  # time.monotonic() of the scrape: rates need two samples from one clock
    running: float = 0.0
    waiting: float = 0.0
    kv_cache_usage: float | None = None  # 0..1
    prefix_hits: float | None = None
    prefix_queries: float | None = None
    prefix_hit_rate_gauge: float | None = None
    ttft_sum: float = 0.0
    ttft_count: float = 0.0
    ttft_buckets: tuple[tuple[float, float], ...] = ()  # (upper bound, cumulative count)
    prompt_tokens: float | None = None
    generation_tokens: float | None = None
    prompt_tps_gauge: float | None = None
    generation_tps_gauge: float | None = None


@dataclass(frozen=True, kw_only=True)
class ModelStats:
    """What ``mgx model stats`` shows; ``None`` where the server does not export the figure."""

    running: int
    waiting: int
    kv_cache_usage: float | None
    prefix_cache_hit_rate: float | None
    ttft_mean_s: float | None
    ttft_p50_s: float | None
    prompt_tokens_per_s: float | None
    generation_tokens_per_s: float | None
    prompt_tokens_total: float | None
    generation_tokens_total: float | None


def parse_metrics(text: str, *, at: float | None = None) -> MetricsSample:
    """Parse Prometheus exposition text from a vLLM server into a :class:`MetricsSample`."""
    from prometheus_client.parser import text_string_to_metric_families

    values: dict[str, float] = {}
    buckets: dict[str, dict[float, float]] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.endswith("_bucket") and "le" in sample.labels:
                    bound = float(sample.labels["le"])
                    per_le = buckets.setdefault(family.name, {})
                    per_le[bound] = per_le.get(bound, 0.0) + sample.value
                    continue
                # Counters are NAME_total on the wire; look them up as NAME whatever the TYPE
                # line said (exporters and parser versions disagree on it).
                key = sample.name
                if key.endswith("_created"):
                    continue
                key = key.removesuffix("_total")
                values[key] = values.get(key, 0.0) + sample.value
    except ValueError as exc:
        raise ModelServerError(f"the server's /metrics is not Prometheus text: {exc}") from exc

    def first(names: tuple[str, ...]) -> float | None:
        for name in names:
            if name in values and not math.isnan(values[name]):
                return values[name]
        return None

    ttft_name = next((n for n in _TTFT if n in buckets), None)
    return MetricsSample(
        at=time.monotonic() if at is None else at,
        running=first(("vllm:num_requests_running",)) or 0.0,
        waiting=first(("vllm:num_requests_waiting",)) or 0.0,
        kv_cache_usage=first(_KV_USAGE),
        prefix_hits=first(_PREFIX_HITS),
        prefix_queries=first(_PREFIX_QUERIES),
        prefix_hit_rate_gauge=first(_PREFIX_RATE_GAUGE),
        ttft_sum=(first(tuple(f"{n}_sum" for n in _TTFT)) or 0.0),
        ttft_count=(first(tuple(f"{n}_count" for n in _TTFT)) or 0.0),
        ttft_buckets=tuple(sorted(buckets[ttft_name].items())) if ttft_name else (),
        prompt_tokens=first(_PROMPT_TOKENS),
        generation_tokens=first(_GENERATION_TOKENS),
        prompt_tps_gauge=first(_PROMPT_TPS_GAUGE),
        generation_tps_gauge=first(_GENERATION_TPS_GAUGE),
    )


def compute_stats(current: MetricsSample, previous: MetricsSample | None = None) -> ModelStats:
    """Summarise ``current``; with ``previous`` (an earlier scrape), figures cover the interval.

    Token rates need two samples (counters only grow); without one, the older engines' own
    throughput gauges are used when they exist. The prefix-cache hit rate is hits / queries
    over the interval, or since start when there is no interval with queries in it.
    """
    ttft_mean = current.ttft_sum / current.ttft_count if current.ttft_count else None
    buckets = current.ttft_buckets
    if previous is not None and current.ttft_count > previous.ttft_count:
        ttft_mean = (current.ttft_sum - previous.ttft_sum) / (
            current.ttft_count - previous.ttft_count
        )
        old = dict(previous.ttft_buckets)
        buckets = tuple((le, count - old.get(le, 0.0)) for le, count in current.ttft_buckets)
    return ModelStats(
        running=int(current.running),
        waiting=int(current.waiting),
        kv_cache_usage=current.kv_cache_usage,
        prefix_cache_hit_rate=_hit_rate(current, previous),
        ttft_mean_s=ttft_mean,
        ttft_p50_s=histogram_quantile(0.5, buckets),
        prompt_tokens_per_s=_rate(current, previous, "prompt_tokens", "prompt_tps_gauge"),
        generation_tokens_per_s=_rate(
            current, previous, "generation_tokens", "generation_tps_gauge"
        ),
        prompt_tokens_total=current.prompt_tokens,
        generation_tokens_total=current.generation_tokens,
    )


def histogram_quantile(q: float, buckets: tuple[tuple[float, float], ...]) -> float | None:
    """Prometheus-style quantile from cumulative buckets, interpolating inside a bucket."""
    if not buckets:
        return None
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # in the overflow bucket: the last finite bound is all we know
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def _hit_rate(current: MetricsSample, previous: MetricsSample | None) -> float | None:
    if current.prefix_hits is not None and current.prefix_queries is not None:
        hits, queries = current.prefix_hits, current.prefix_queries
        if previous is not None and previous.prefix_hits is not None:
            d_queries = queries - (previous.prefix_queries or 0.0)
            if d_queries > 0:
                return (hits - previous.prefix_hits) / d_queries
        return hits / queries if queries > 0 else None
    return current.prefix_hit_rate_gauge


def _rate(
    current: MetricsSample, previous: MetricsSample | None, counter: str, gauge: str
) -> float | None:
    now: float | None = getattr(current, counter)
    before: float | None = getattr(previous, counter, None)
    if previous is not None and now is not None and before is not None:
        elapsed = current.at - previous.at
        if elapsed > 0:
            return max(0.0, now - before) / elapsed
    rate: float | None = getattr(current, gauge)
    return rate


def metrics_url(base_url: str) -> str:
    """``http://h:p/v1`` -> ``http://h:p/metrics`` (vLLM serves metrics beside the API root)."""
    root = base_url.rstrip("/")
    if root.endswith("/v1"):
        root = root[: -len("/v1")]
    return f"{root}/metrics"


async def fetch_sample(
    base_url: str,
    *,
    api_key: str | None = None,
    timeout: float = 5.0,
    client: httpx.AsyncClient | None = None,
) -> MetricsSample:
    """Scrape ``/metrics`` of the server at ``base_url`` (an OpenAI base URL ending in /v1)."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    url = metrics_url(base_url)
    try:
        if client is None:
            async with httpx.AsyncClient(timeout=timeout) as own:
                response = await own.get(url, headers=headers)
        else:
            response = await client.get(url, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ModelServerError(f"cannot read {url}: {exc or type(exc).__name__}") from exc
    if response.status_code != 200:
        raise ModelServerError(f"{url} answered HTTP {response.status_code}")
    return parse_metrics(response.text)
