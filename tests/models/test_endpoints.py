"""Resolving model names and picking endpoints, against real loopback HTTP servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketplace.settings import Settings
from runtime.errors import ModelServerError
from runtime.models import ModelTarget, pick_endpoint, resolve_target
from runtime.models.endpoints import forget_metrics, normalize_base_url
from runtime.models.inventory import add_external
from tests.models.conftest import MetricsServer


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    forget_metrics()


def _settings() -> Settings:
    return Settings.from_env()


async def test_picks_the_endpoint_with_fewest_waiting(load_servers: list[MetricsServer]) -> None:
    a, b = load_servers
    target = ModelTarget(name="m", model="tiny", endpoints=(a.url, b.url), api_key=None)
    a.waiting, b.waiting = 5, 1
    assert await pick_endpoint(target) == b.url
    forget_metrics()
    a.waiting, b.waiting = 0, 3
    assert await pick_endpoint(target) == a.url


async def test_running_breaks_ties_and_idle_replicas_take_turns(
    load_servers: list[MetricsServer],
) -> None:
    a, b = load_servers
    target = ModelTarget(name="m", model="tiny", endpoints=(a.url, b.url), api_key=None)
    a.running, b.running = 4, 2
    assert await pick_endpoint(target) == b.url
    forget_metrics()
    a.running = b.running = 0
    picks = set()
    for _ in range(4):
        picks.add(await pick_endpoint(target))
    assert picks == {a.url, b.url}


async def test_scrapes_are_cached_briefly(load_servers: list[MetricsServer]) -> None:
    a, b = load_servers
    target = ModelTarget(name="m", model="tiny", endpoints=(a.url, b.url), api_key=None)
    a.waiting, b.waiting = 0, 9
    assert await pick_endpoint(target) == a.url
    a.waiting = 20  # within the cache's lifetime the old figures stand
    assert await pick_endpoint(target) == a.url
    assert a.hits.count("/metrics") == 1
    forget_metrics()
    assert await pick_endpoint(target) == b.url


async def test_an_endpoint_without_metrics_ranks_last(load_servers: list[MetricsServer]) -> None:
    a, b = load_servers
    a.waiting = 50
    b.close()
    target = ModelTarget(name="m", model="tiny", endpoints=(b.url, a.url), api_key=None)
    assert await pick_endpoint(target) == a.url


async def test_single_endpoint_is_not_scraped(load_servers: list[MetricsServer]) -> None:
    a, _ = load_servers
    target = ModelTarget(name="m", model="tiny", endpoints=(a.url,), api_key=None)
    assert await pick_endpoint(target) == a.url
    assert a.hits == []


def test_url_target_takes_the_model_from_v1_models(load_servers: list[MetricsServer]) -> None:
    a, _ = load_servers
    a.model = "served-id"
    root = a.url.removesuffix("/v1")
    for spelling in (root, a.url, a.url + "/", a.url + "/chat/completions"):
        target = resolve_target(spelling, settings=_settings())
        assert target.endpoints == (a.url,) and target.model == "served-id"
        assert target.api_key is None


def test_url_target_with_key(monkeypatch: pytest.MonkeyPatch) -> None:
    server = MetricsServer(api_key="sekrit")
    try:
        with pytest.raises(ModelServerError, match="needs an API key: set MGX_API_KEY"):
            resolve_target(server.url, settings=_settings())
        monkeypatch.setenv("MGX_API_KEY", "sekrit")
        assert resolve_target(server.url, settings=_settings()).api_key == "sekrit"
    finally:
        server.close()


async def test_external_replicas_resolve_and_pick(
    load_servers: list[MetricsServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = load_servers
    add_external(
        "pool", urls=[a.url, b.url], model="tiny", api_key_env="POOL_KEY", settings=_settings()
    )
    with pytest.raises(ModelServerError, match=r"\$POOL_KEY, which is not set"):
        resolve_target("pool", settings=_settings())
    monkeypatch.setenv("POOL_KEY", "k")
    target = resolve_target("pool", settings=_settings())
    assert target == ModelTarget(name="pool", model="tiny", endpoints=(a.url, b.url), api_key="k")
    a.waiting = 3
    assert await pick_endpoint(target) == b.url


def test_unknown_name_and_dead_managed_server(mgx_home: Path) -> None:
    with pytest.raises(ModelServerError, match="no model named 'nope'"):
        resolve_target("nope", settings=_settings())
    from runtime.models.state import ServerRecord, StateStore

    StateStore(_settings()).save_server(
        ServerRecord(
            name="gone",
            model="m",
            served_model="m",
            host="127.0.0.1",
            port=1,
            pid=2**22 + 7,
            python="p",
            argv=("p", "-m", "vllm.entrypoints.openai.api_server"),
            log_path="/tmp/gone.log",
            started_at=0.0,
        )  # fmt: skip
    )
    with pytest.raises(ModelServerError, match="gone is not running"):
        resolve_target("gone", settings=_settings())


def test_unreachable_url_is_a_clear_error() -> None:
    with pytest.raises(ModelServerError, match="cannot reach http://127.0.0.1:9/v1/models"):
        resolve_target("http://127.0.0.1:9", settings=_settings())


def test_normalize_base_url() -> None:
    assert normalize_base_url("http://h:1") == "http://h:1/v1"
    assert normalize_base_url("https://api.x/v1/") == "https://api.x/v1"
    assert normalize_base_url("http://h:1/v1/models") == "http://h:1/v1"
