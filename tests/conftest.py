"""Fixtures shared by every test area (each area keeps its own in tests/<area>/conftest.py)."""

from __future__ import annotations

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
