"""Fixtures of the workspace tests: the real filesystem MCP server, installed and locked
through the marketplace once per session (npm), and a helper to build a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketplace._fs import atomic_write
from marketplace.installers import install_package, resolve_package
from marketplace.invocation import store_server_json
from marketplace.lockfile import LockedTool, Lockfile, dumps
from marketplace.settings import Settings
from registry_cache.serverjson import parse_server
from registry_cache.snapshot import CURATED_FILE
from runtime.tools import ServerSpec
from runtime.workspaces import FILESYSTEM_SERVER, locked_filesystem_server

FS_VERSION = "2026.8.31"


def _curated_filesystem_server() -> dict[str, object]:
    docs = json.loads(CURATED_FILE.read_text(encoding="utf-8"))
    for doc in docs:
        server = doc["server"]
        if server["name"] == FILESYSTEM_SERVER and server["version"] == FS_VERSION:
            return dict(server)
    raise AssertionError(f"{FILESYSTEM_SERVER} {FS_VERSION} missing from {CURATED_FILE}")


@pytest.fixture(scope="session")
def fs_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    """A project whose mgx.lock pins the filesystem server, installed for real from npm."""
    home = tmp_path_factory.mktemp("fs-home")
    settings = Settings.from_env({"MGX_HOME": str(home)})
    server = parse_server(_curated_filesystem_server())
    package = resolve_package(server, server.packages[0], settings=settings)
    install_package(package, settings=settings)
    root = tmp_path_factory.mktemp("fs-project")
    (root / "mgx.toml").write_text(f'[tools]\n"{FILESYSTEM_SERVER}" = "{FS_VERSION}"\n')
    tool = LockedTool(
        name=FILESYSTEM_SERVER,
        version=FS_VERSION,
        registry="",
        package=package,
        server_json=store_server_json(settings, server.raw),  # for the invocation rule
    )
    atomic_write(root / "mgx.lock", dumps(Lockfile(tools={FILESYSTEM_SERVER: tool})))
    return settings, root


@pytest.fixture(scope="session")
def fs_server(fs_project: tuple[Settings, Path]) -> ServerSpec:
    """The locked filesystem server's start command, without directories."""
    settings, root = fs_project
    return locked_filesystem_server(settings, root)


@pytest.fixture
def fs_home(fs_project: tuple[Settings, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """MGX_HOME where the filesystem server was installed; returns the project (its lock)."""
    settings, root = fs_project
    monkeypatch.setenv("MGX_HOME", str(settings.state_dir.parent))
    return root
