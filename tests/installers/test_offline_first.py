"""The PyPI resolution reads uv's cache first only when that gives the lock the index would.

A private ``UV_CACHE_DIR`` per test: empty, it is a miss (online); filled by an online
resolution after the cutoff, the cached answer is used and equals the online one; with its
index pages dated before the cutoff (they could miss files published in between), it is not.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from marketplace.installers import _io, pypi

CUTOFF = "2025-09-26T00:00:00Z"
WANTED = "mcp-server-time==2025.9.25\n"


def _argv(uv: str) -> list[str]:
    return [
        uv, "pip", "compile", "-", "--generate-hashes", "--universal", "--python-version",
        "3.11", "--index-url", "https://pypi.org/simple", "--no-header", "--no-annotate",
        "--no-config", "--quiet", "--exclude-newer", CUTOFF,
    ]  # fmt: skip


@pytest.fixture
def uv_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "uv-cache"
    monkeypatch.setenv("UV_CACHE_DIR", str(cache))
    return cache


def test_an_empty_cache_is_a_miss(uv_cache: Path) -> None:
    uv = pypi._uv_for_resolution()
    got = pypi._compile_from_cache(uv, _argv(uv), cutoff=CUTOFF, what="t", wanted=WANTED)
    assert got is None


@pytest.mark.network
def test_cache_newer_than_the_cutoff_gives_the_online_lock(uv_cache: Path) -> None:
    uv = pypi._uv_for_resolution()
    online = pypi.parse_requirements(_io.run(_argv(uv), what="online", input=WANTED))
    cached = pypi._compile_from_cache(uv, _argv(uv), cutoff=CUTOFF, what="t", wanted=WANTED)
    assert cached == online and len(online) > 5
    # The public entry point takes the same path and gives the same closure.
    via = pypi._compile(
        "mcp-server-time", "2025.9.25", index="https://pypi.org/simple", cutoff=CUTOFF,
        python="3.11",
    )  # fmt: skip
    assert via == online

    # Pages cached before the cutoff could lack files uploaded in between: not trusted.
    page = next(uv_cache.glob("simple-v*/pypi/mcp-server-time.rkyv"))
    os.utime(page, (1_600_000_000, 1_600_000_000))  # 2020
    stale = pypi._compile_from_cache(uv, _argv(uv), cutoff=CUTOFF, what="t", wanted=WANTED)
    assert stale is None
