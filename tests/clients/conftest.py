"""Fixtures for the client-config tests: a locked project and a private HOME.

Client config paths come from the real path logic, pointed at a temporary home through the
same variables a user's shell sets (``HOME``, ``XDG_CONFIG_HOME``; ``APPDATA``,
``USERPROFILE`` and ``CODEX_HOME`` are unset so the Linux defaults apply).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gateway import conftest as gateway_fixtures

DATA = Path(__file__).resolve().parents[1] / "data" / "clients"

# A project with tool set `work` (alpha, beta; beta's secret bound to $MY_GW_SECRET).
world = gateway_fixtures.world
settings = gateway_fixtures.settings
project_dir = gateway_fixtures.project_dir
python_on_path = gateway_fixtures.python_on_path
gw_project = gateway_fixtures.gw_project


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private home directory; every client's config location resolves under it."""
    directory = tmp_path / "home"
    directory.mkdir()
    monkeypatch.setenv("HOME", str(directory))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(directory / ".config"))
    for name in ("APPDATA", "USERPROFILE", "CODEX_HOME"):
        monkeypatch.delenv(name, raising=False)
    return directory
