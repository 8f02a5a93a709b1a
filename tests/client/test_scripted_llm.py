"""The scripted server's own endpoints, which other test areas rely on."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from runtime.client import ChatClient
from tests.client.conftest import ASK
from tests.scripted_llm import Reply, ScriptedLLM


def metrics(llm: ScriptedLLM) -> dict[str, float]:
    text = httpx.get(llm.base + "/metrics").text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels.get("le")
    }


def test_models_health_and_routes() -> None:
    routes = {"POST /v1/load_lora_adapter": lambda body: (200, f"loaded {body['lora_name']}")}
    with ScriptedLLM(models=["a", "b"], routes=routes) as llm:
        models = httpx.get(llm.url + "/models").json()
        assert [m["id"] for m in models["data"]] == ["a", "b"]
        assert httpx.get(llm.base + "/health").status_code == 200
        llm.healthy = False
        assert httpx.get(llm.base + "/health").status_code == 503
        reply = httpx.post(llm.url + "/load_lora_adapter", json={"lora_name": "x"})
        assert (reply.status_code, reply.text) == (200, "loaded x")
        assert httpx.post(llm.url + "/unknown", json={}).status_code == 404
        assert httpx.post(llm.url + "/chat/completions", json={}).status_code == 500  # no script


async def test_metrics_follow_traffic() -> None:
    with ScriptedLLM(default=Reply(content="ok")) as llm:
        before = metrics(llm)
        assert before["vllm:num_requests_running"] == 0
        assert before["vllm:prompt_tokens_total"] == 0
        llm.waiting = 4
        async with ChatClient(llm.url, "scripted") as client:
            await client.complete(ASK)
            await client.complete([*ASK, {"role": "user", "content": "and tomorrow?"}])
        after = metrics(llm)
        assert after["vllm:num_requests_waiting"] == 4
        assert after["vllm:prompt_tokens_total"] > 0 and after["vllm:generation_tokens_total"] > 0
        # the second prompt shares the first one's prefix
        assert 0 < after["vllm:prefix_cache_hits_total"] < after["vllm:prefix_cache_queries_total"]
        assert after["vllm:time_to_first_token_seconds_count"] == 2


def test_custom_metrics_text() -> None:
    with ScriptedLLM(metrics="vllm:num_requests_waiting 7.0\n") as llm:
        assert metrics(llm) == {"vllm:num_requests_waiting": 7.0}
