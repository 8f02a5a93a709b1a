"""``mgx client import``: a client's servers matched to registry entries, adopted with --yes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from marketplace.clients import Where, client_by_id, package_of
from tests.gateway.conftest import GwProject
from tests.lock.conftest import TIME, World, real_time_doc, run_mgx

CURSOR_CONFIG = {
    "mcpServers": {
        "time": {"command": "uvx", "args": ["mcp-server-time", "--local-timezone=UTC"]},
        "mystery": {"command": "npx", "args": ["-y", "@nobody/not-published@1.0.0"]},
        "script": {"command": "node", "args": ["/home/me/server.js"]},
        "hosted": {"url": "https://mcp.example.com/mcp"},
    }
}


def publish_time(world: World) -> None:
    world.docs.append(real_time_doc())
    world.serve()


def write_cursor(home: Path, root: Path) -> tuple[dict[str, str], Path]:
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    path = client_by_id("cursor").path(Where(env=env, project=root))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(CURSOR_CONFIG, indent=2))
    return env, path


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"command": "npx", "args": ["-y", "@scope/pkg@1.2.3", "--flag"]}, ("npm", "@scope/pkg")),
        ({"command": "/usr/local/bin/npx", "args": ["plain-pkg@latest"]}, ("npm", "plain-pkg")),
        (
            {"command": "uvx", "args": ["--from", "mcp-server-git==1.0", "mcp-server-git"]},
            ("pypi", "mcp-server-git"),
        ),
        ({"command": "uvx", "args": ["mcp-server-fetch[extra]"]}, ("pypi", "mcp-server-fetch")),
        ({"command": "pipx", "args": ["run", "mcp-server-time"]}, ("pypi", "mcp-server-time")),
        (
            {
                "command": "docker",
                "args": ["run", "-i", "--rm", "-e", "TOKEN", "ghcr.io/o/img:1.0"],
            },
            ("oci", "ghcr.io/o/img"),
        ),
        ({"type": "local", "command": ["npx", "-y", "pkg-x"]}, ("npm", "pkg-x")),
        ({"cmd": "uvx", "args": ["mcp-server-time"]}, ("pypi", "mcp-server-time")),
    ],
)
def test_package_of(entry: dict[str, object], expected: tuple[str, str]) -> None:
    kind, package, why = package_of(entry)
    assert (kind, package) == expected and why == ""


def test_import_lists_matches_and_unmatched_with_why(
    world: World, gw_project: GwProject, home: Path
) -> None:
    publish_time(world)
    env, path = write_cursor(home, gw_project.root)
    before = (gw_project.root / "mgx.toml").read_bytes()
    done = run_mgx("client", "import", "cursor", "--json", cwd=gw_project.root, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    found = {c["entry"]: c for c in result["candidates"]}
    assert found["time"]["server"] == TIME and found["time"]["package"] == "mcp-server-time"
    assert (
        found["mystery"]["server"] == ""
        and "no server named '@nobody/not-published'" in (found["mystery"]["why"])
    )
    assert "local command (node)" in found["script"]["why"]
    assert "remote server" in found["hosted"]["why"]
    assert result["adopted"] == []  # nothing adopted without --yes
    assert (gw_project.root / "mgx.toml").read_bytes() == before
    refused = run_mgx("client", "import", "cursor", cwd=gw_project.root, env=env)
    assert refused.returncode == 2 and "pass --yes" in refused.stderr


@pytest.mark.network
def test_import_yes_adopts_the_known_server(
    world: World, gw_project: GwProject, home: Path
) -> None:
    publish_time(world)
    env, _ = write_cursor(home, gw_project.root)
    done = run_mgx(
        "client", "import", "cursor", "--yes", "-t", "imported", cwd=gw_project.root, env=env
    )
    assert done.returncode == 0, done.stderr
    assert f"adopted {TIME}" in done.stderr
    assert "mystery" in done.stdout and "no server named" in done.stdout
    manifest = (gw_project.root / "mgx.toml").read_text()
    assert f'"{TIME}"' in manifest and "[toolsets.imported]" in manifest
    lock = (gw_project.root / "mgx.lock").read_text()
    assert "mcp-server-time" in lock
