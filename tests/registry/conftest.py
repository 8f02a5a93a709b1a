"""Fixtures for the registry area: server documents, real caches and real servers on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from marketplace.settings import Settings
from registry_cache.serverjson import OFFICIAL_META, parse_server
from registry_cache.store import Cache

SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"


def server_doc(
    name: str,
    version: str = "1.0.0",
    *,
    description: str | None = None,
    title: str | None = None,
    packages: Sequence[dict[str, Any]] | None = None,
    remotes: Sequence[dict[str, Any]] | None = None,
    status: str = "active",
    published: str = "2025-10-01T00:00:00Z",
    updated: str | None = None,
    latest: bool = True,
) -> dict[str, Any]:
    """A ServerResponse ``{"server", "_meta"}`` as the official registry publishes it."""
    server: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "name": name,
        "description": description or f"The {name.rsplit('/', 1)[-1]} server.",
        "version": version,
    }
    if title:
        server["title"] = title
    if packages is None:
        packages = [npm(name.rsplit("/", 1)[-1], version)]
    if packages:
        server["packages"] = list(packages)
    if remotes:
        server["remotes"] = list(remotes)
    official = {
        "status": status,
        "publishedAt": published,
        "updatedAt": updated or published,
        "isLatest": latest,
    }
    return {"server": server, "_meta": {OFFICIAL_META: official}}


def npm(identifier: str, version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    return {
        "registryType": "npm",
        "identifier": identifier,
        "version": version,
        "transport": {"type": "stdio"},
        **extra,
    }


def pypi(identifier: str, version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    return {
        "registryType": "pypi",
        "identifier": identifier,
        "version": version,
        "runtimeHint": "uvx",
        "transport": {"type": "stdio"},
        **extra,
    }


def oci(identifier: str, version: str = "1.0.0") -> dict[str, Any]:
    return {
        "registryType": "oci",
        "identifier": f"{identifier}:{version}",
        "transport": {"type": "stdio"},
    }


def remote(url: str, kind: str = "streamable-http") -> dict[str, Any]:
    return {"type": kind, "url": url}


def fill(cache: Cache, registry: str, docs: Sequence[dict[str, Any]]) -> None:
    cache.upsert(registry, [parse_server(d) for d in docs])


@pytest.fixture
def settings(mgx_home: Path) -> Settings:
    return Settings.from_env()


@pytest.fixture
def make_cache(tmp_path: Path) -> Iterator[Callable[..., Cache]]:
    """Build a real SQLite cache file holding ``docs`` for ``registry``."""
    with ExitStack() as stack:
        counter = iter(range(1000))

        def make(docs: Sequence[dict[str, Any]] = (), registry: str = "official") -> Cache:
            cache = stack.enter_context(Cache(tmp_path / f"cache-{next(counter)}.sqlite3"))
            fill(cache, registry, docs)
            return cache

        yield make


@pytest.fixture
def serve_docs(make_cache: Callable[..., Cache]) -> Iterator[Callable[..., str]]:
    """Serve ``docs`` with the project's own registry server on loopback; returns its URL."""
    from registry_cache.server import serving

    with ExitStack() as stack:

        def start(docs: Sequence[dict[str, Any]], registry: str = "official") -> str:
            cache = make_cache(docs, registry)
            return stack.enter_context(serving(cache.path, registry=registry)).url

        yield start


@pytest.fixture(scope="session")
def openapi(test_data: Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((test_data / "registry" / "openapi.yaml").read_text())


@pytest.fixture(scope="session")
def server_schema(test_data: Path) -> dict[str, Any]:
    return json.loads((test_data / "registry" / "server.schema.json").read_text())
