"""``mgx tool export -o FILE`` never loses an existing config and never invents directories."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gateway.conftest import GwProject
from tests.lock.conftest import run_mgx


def test_export_refuses_overwrite_without_force_and_missing_directory(
    gw_project: GwProject, tmp_path: Path
) -> None:
    target = tmp_path / "claude_desktop_config.json"
    mine = '{"mcpServers": {"other": {"command": "x"}}, "globalShortcut": "Ctrl+Space"}\n'
    target.write_text(mine)
    args = ["tool", "export", "--client", "claude-desktop", "-t", "work"]
    refused = run_mgx(*args, "-o", str(target), cwd=gw_project.root)
    assert refused.returncode == 2 and "pass --force" in refused.stderr
    assert target.read_text() == mine

    missing = tmp_path / "nowhere" / "config.json"
    refused = run_mgx(*args, "-o", str(missing), cwd=gw_project.root)
    assert refused.returncode == 2 and "does not exist" in refused.stderr
    assert not missing.parent.exists()

    forced = run_mgx(*args, "-o", str(target), "--force", cwd=gw_project.root)
    assert forced.returncode == 0, forced.stderr
    assert set(json.loads(target.read_text())["mcpServers"]) == {"alpha", "beta"}
