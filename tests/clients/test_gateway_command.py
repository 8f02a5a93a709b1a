"""The command written into a client for the gateway: `mgx` only when PATH finds this mgx.

A client starts its entries with its own PATH; an mgx in a virtual environment is not on it,
so a bare `mgx` would be an entry that fails at the client's first start.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway.conftest import GwProject

MGX = Path(sys.executable).parent / "mgx"
needs_script = pytest.mark.skipif(not MGX.exists(), reason="needs the mgx script beside python")


def _gateway_command(path_env: str) -> str:
    code = "from marketplace.clients import gateway_command; print(gateway_command())"
    env = {**os.environ, "PATH": path_env}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@needs_script
def test_absolute_path_when_path_does_not_find_this_mgx() -> None:
    assert _gateway_command("/usr/bin:/bin") == str(MGX.absolute())


@needs_script
def test_bare_name_when_path_finds_this_mgx() -> None:
    assert _gateway_command(f"{MGX.parent}:/usr/bin:/bin") == "mgx"


@needs_script
def test_client_add_from_a_venv_writes_a_command_that_exists(
    gw_project: GwProject, home: Path
) -> None:
    (home / ".cursor").mkdir()
    env = {**gw_project.env, "HOME": str(home), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [str(MGX), "client", "add", "cursor", "-C", str(gw_project.root)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    entries = json.loads((home / ".cursor" / "mcp.json").read_text())["mcpServers"]
    commands = {entry["command"] for entry in entries.values()}
    assert commands == {str(MGX.absolute())}
    assert shutil.which(str(MGX.absolute())) is not None
