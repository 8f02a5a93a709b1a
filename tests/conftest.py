"""Fixtures shared by every test area (each area keeps its own in tests/<area>/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.vllm_tier"]

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MGX_SHARED", REPO.parent / "shared"))


@pytest.fixture(autouse=True)
def mgx_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own MGX_HOME so no test touches the user's real data."""
    home = tmp_path_factory.mktemp("mgx-home")
    monkeypatch.setenv("MGX_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only reference material beside the checkout (../shared)."""
    if not SHARED.is_dir():
        pytest.fail(f"reference data not found at {SHARED} (set MGX_SHARED)")
    return SHARED
