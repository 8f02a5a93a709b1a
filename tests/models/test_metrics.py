"""Parsing vLLM's /metrics: scrapes captured from the real CPU vLLM 0.32 server, and the older
metric names (hand-written from vLLM 0.6's metric definitions: that engine is not installable
here)."""

from __future__ import annotations

import math
import re

import pytest

from runtime.errors import ModelServerError
from runtime.models.metrics import (
    compute_stats,
    histogram_quantile,
    metrics_url,
    parse_metrics,
)
from tests.models.conftest import DATA

IDLE = (DATA / "vllm-0.32-cpu-idle.prom").read_text()
BUSY = (DATA / "vllm-0.32-cpu-busy.prom").read_text()
AFTER = (DATA / "vllm-0.32-cpu-after.prom").read_text()

OLD_ENGINE = """\
# HELP vllm:num_requests_running Number of requests currently running on GPU.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="m"} 3.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} 5.0
# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="m"} 0.42
# HELP vllm:gpu_prefix_cache_hit_rate GPU prefix cache block hit rate.
# TYPE vllm:gpu_prefix_cache_hit_rate gauge
vllm:gpu_prefix_cache_hit_rate{model_name="m"} 0.75
# HELP vllm:avg_prompt_throughput_toks_per_s Average prefill throughput in tokens/s.
# TYPE vllm:avg_prompt_throughput_toks_per_s gauge
vllm:avg_prompt_throughput_toks_per_s{model_name="m"} 1234.5
# HELP vllm:avg_generation_throughput_toks_per_s Average generation throughput in tokens/s.
# TYPE vllm:avg_generation_throughput_toks_per_s gauge
vllm:avg_generation_throughput_toks_per_s{model_name="m"} 321.0
"""


def _value(text: str, name: str) -> float:
    """The value of the one sample called ``name`` in ``text``, read with a plain regex."""
    (match,) = re.findall(rf"^{re.escape(name)}\{{[^}}]*\}} (\S+)$", text, flags=re.M)
    return float(match)


def test_idle_scrape_from_real_server() -> None:
    sample = parse_metrics(IDLE, at=0.0)
    assert sample.running == 0 and sample.waiting == 0
    assert sample.kv_cache_usage == 0.0
    assert sample.prefix_queries == _value(IDLE, "vllm:prefix_cache_queries_total") > 0
    assert sample.prefix_hits == _value(IDLE, "vllm:prefix_cache_hits_total")
    assert sample.generation_tokens == _value(IDLE, "vllm:generation_tokens_total")
    assert sample.ttft_count == _value(IDLE, "vllm:time_to_first_token_seconds_count")
    assert sample.ttft_sum == pytest.approx(_value(IDLE, "vllm:time_to_first_token_seconds_sum"))
    # Buckets are cumulative, end in +Inf, and match the count.
    assert sample.ttft_buckets[-1][0] == math.inf
    assert sample.ttft_buckets[-1][1] == sample.ttft_count
    counts = [count for _, count in sample.ttft_buckets]
    assert counts == sorted(counts)


def test_busy_scrape_counts_requests_and_cache() -> None:
    sample = parse_metrics(BUSY, at=10.0)
    assert sample.running == 8 and sample.waiting == 0
    assert 0 < sample.kv_cache_usage < 1
    stats = compute_stats(sample)
    hits = _value(BUSY, "vllm:prefix_cache_hits_total")
    queries = _value(BUSY, "vllm:prefix_cache_queries_total")
    assert stats.prefix_cache_hit_rate == pytest.approx(hits / queries)
    assert stats.running == 8
    assert stats.prompt_tokens_per_s is None  # one sample and no throughput gauge: no rate


def test_two_scrapes_give_rates_over_the_interval() -> None:
    busy = parse_metrics(BUSY, at=100.0)
    after = parse_metrics(AFTER, at=102.0)
    stats = compute_stats(after, busy)
    generated = _value(AFTER, "vllm:generation_tokens_total") - _value(
        BUSY, "vllm:generation_tokens_total"
    )
    assert generated > 0
    assert stats.generation_tokens_per_s == pytest.approx(generated / 2.0)
    assert stats.prompt_tokens_per_s >= 0
    assert stats.generation_tokens_total == _value(AFTER, "vllm:generation_tokens_total")
    d_count = after.ttft_count - busy.ttft_count
    if d_count:
        assert stats.ttft_mean_s == pytest.approx((after.ttft_sum - busy.ttft_sum) / d_count)
    # No prefix-cache queries in between: the rate falls back to the cumulative figure.
    assert stats.prefix_cache_hit_rate == pytest.approx(after.prefix_hits / after.prefix_queries)


def test_older_engine_names_and_gauges() -> None:
    stats = compute_stats(parse_metrics(OLD_ENGINE, at=0.0))
    assert (stats.running, stats.waiting) == (3, 5)
    assert stats.kv_cache_usage == 0.42
    assert stats.prefix_cache_hit_rate == 0.75
    assert stats.prompt_tokens_per_s == 1234.5
    assert stats.generation_tokens_per_s == 321.0
    assert stats.ttft_mean_s is None and stats.ttft_p50_s is None


def test_samples_sum_over_engines() -> None:
    two_engines = """\
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 2.0
vllm:num_requests_waiting{engine="1",model_name="m"} 3.0
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0",model_name="m"} 10.0
vllm:prefix_cache_hits_total{engine="1",model_name="m"} 30.0
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="m"} 50.0
vllm:prefix_cache_queries_total{engine="1",model_name="m"} 50.0
"""
    sample = parse_metrics(two_engines, at=0)
    assert sample.waiting == 5
    assert compute_stats(sample).prefix_cache_hit_rate == pytest.approx(0.4)


def test_histogram_quantile_interpolates() -> None:
    buckets = ((0.1, 2.0), (0.5, 6.0), (1.0, 10.0), (math.inf, 10.0))
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1 + 0.4 * (5 - 2) / 4)
    assert histogram_quantile(0.1, buckets) == pytest.approx(0.05)
    assert histogram_quantile(0.5, ()) is None
    assert histogram_quantile(0.5, ((1.0, 0.0), (math.inf, 0.0))) is None
    assert histogram_quantile(0.9, ((1.0, 1.0), (math.inf, 10.0))) == 1.0  # overflow bucket


def test_real_p50_lies_within_the_bucket_holding_the_median() -> None:
    sample = parse_metrics(BUSY, at=0)
    p50 = compute_stats(sample).ttft_p50_s
    half = sample.ttft_count / 2
    upper = next(le for le, count in sample.ttft_buckets if count >= half)
    lower = max((le for le, count in sample.ttft_buckets if count < half), default=0.0)
    assert lower <= p50 <= upper


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(ModelServerError, match="not Prometheus text"):
        parse_metrics("vllm:num_requests_running{oops 1 2 3\n", at=0)


def test_metrics_url() -> None:
    assert metrics_url("http://h:8000/v1") == "http://h:8000/metrics"
    assert metrics_url("http://h:8000/v1/") == "http://h:8000/metrics"
    assert metrics_url("http://h:8000") == "http://h:8000/metrics"
