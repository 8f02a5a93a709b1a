"""Fixtures for the integrity tests: the lock area's loopback world (a real ``/v0.1``
registry over SQLite and a bundle host) plus helpers that tamper like an attacker would.

Installs go through the real resolver, installers and MCP checks; nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from marketplace.project import find_project
from marketplace.settings import Settings
from tests.lock import conftest as lock_area
from tests.lock.conftest import World, run_mgx, server_doc

# The lock area's fixtures, shared with this area (pytest finds fixtures by module attribute).
settings = lock_area.settings
python_on_path = lock_area.python_on_path
world = lock_area.world
echo_world = lock_area.echo_world
project_dir = lock_area.project_dir

HERE = Path(__file__).resolve().parent
DESC_SERVER = HERE / "desc_server.py"
ECHO = "io.github.test/echo"
DESC = "io.github.test/desc"


def publish_desc(world: World, desc_file: Path, version: str = "1.0.0") -> None:
    """Publish ``io.github.test/desc``: a bundle whose tool descriptions come from ``desc_file``
    (an absolute path outside the install, so changing it is not local tampering)."""
    manifest: dict[str, Any] = {
        "manifest_version": "0.2",
        "name": "desc",
        "version": version,
        "server": {
            "type": "python",
            "entry_point": "server/main.py",
            "mcp_config": {
                "command": "python",
                "args": ["${__dirname}/server/main.py", "--desc-file", str(desc_file)],
            },
        },
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("server/main.py", DESC_SERVER.read_text())
    body = buf.getvalue()
    path = f"/desc-{version}.mcpb"
    world.files.files[path] = body
    package = {
        "registryType": "mcpb",
        "identifier": world.files.url + path,
        "fileSha256": hashlib.sha256(body).hexdigest(),
        "transport": {"type": "stdio"},
    }
    world.docs.append(server_doc(DESC, version, [package], latest=True))


def snapshot(project_dir: Path, settings: Settings) -> dict[str, Any]:
    """mgx.toml, mgx.lock and every installed file (path -> bytes digest): what a refusal must
    leave exactly as it was."""
    tools = settings.tools_dir
    files = {
        str(p.relative_to(tools)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(tools.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
    return {
        "toml": (project_dir / "mgx.toml").read_bytes(),
        "lock": (project_dir / "mgx.lock").read_bytes(),
        "installed": files,
    }


def tool_dir_of(project_dir: Path, name: str) -> Path:
    from marketplace.installers import tool_dir

    project = find_project(project_dir)
    return tool_dir(project.settings, project.lock().tools[name].package)


@pytest.fixture
def echo_installed(echo_world: World, project_dir: Path) -> Path:
    """``io.github.test/echo`` 2.0.0 installed (and checked) in ``project_dir``."""
    result = run_mgx("tool", "install", ECHO, cwd=project_dir)
    assert result.returncode == 0, result.stderr
    return project_dir
