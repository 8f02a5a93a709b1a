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


def lock_filesystem_server(settings: Settings, root: Path, *, pin: bool = True) -> None:
    """Install the filesystem server for real from npm and lock it in the project ``root``
    as ``mgx tool install`` does: started once, its tools pinned in the lock and their text
    kept in the pins store (``pin=False``: a lock without pins, as ``--no-check`` leaves)."""
    from dataclasses import replace

    from marketplace.check import check_server
    from marketplace.project import find_project, launch_spec
    from marketplace.tool_pins import pins_store, store_descriptions

    server = parse_server(_curated_filesystem_server())
    package = resolve_package(server, server.packages[0], settings=settings)
    install_package(package, settings=settings)
    (root / "mgx.toml").write_text(f'[tools]\n"{FILESYSTEM_SERVER}" = "{FS_VERSION}"\n')
    tool = LockedTool(
        name=FILESYSTEM_SERVER,
        version=FS_VERSION,
        registry="",
        package=package,
        server_json=store_server_json(settings, server.raw),  # for the invocation rule
    )
    atomic_write(root / "mgx.lock", dumps(Lockfile(tools={FILESYSTEM_SERVER: tool})))
    if not pin:
        return
    project = find_project(root, settings=settings)
    checked = check_server(launch_spec(project, tool))
    assert checked.pins is not None
    store_descriptions(pins_store(settings), checked.pins, list(checked.descriptions))
    pinned = replace(tool, tool_pins=checked.pins)
    atomic_write(root / "mgx.lock", dumps(Lockfile(tools={FILESYSTEM_SERVER: pinned})))


@pytest.fixture(scope="session")
def fs_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    """A project whose mgx.lock pins the filesystem server (and its tools), installed for
    real from npm."""
    home = tmp_path_factory.mktemp("fs-home")
    settings = Settings.from_env({"MGX_HOME": str(home)})
    root = tmp_path_factory.mktemp("fs-project")
    lock_filesystem_server(settings, root)
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
