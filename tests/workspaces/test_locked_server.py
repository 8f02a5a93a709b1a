"""Finding the filesystem server in the project's lock, and the per-agent server specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketplace.settings import Settings
from runtime.tools import ServerSpec
from runtime.workspaces import (
    READ_SERVER,
    WRITE_SERVER,
    RunWorkspaces,
    WorkspaceConfigError,
    file_servers,
    locked_filesystem_server,
    new_run_dir,
)


def test_without_the_server_in_the_lock_the_error_names_the_install_command(
    tmp_path: Path, mgx_home: Path
) -> None:
    settings = Settings.from_env({"MGX_HOME": str(mgx_home)})
    (tmp_path / "mgx.toml").write_text("[tools]\n")
    with pytest.raises(WorkspaceConfigError) as info:
        locked_filesystem_server(settings, tmp_path)
    assert "server-filesystem" in str(info.value) and "\n" not in str(info.value)


def test_each_agent_gets_exactly_its_directories(tmp_path: Path) -> None:
    base = ServerSpec(name="filesystem", command=("/usr/bin/node", "/x/index.js"))
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    ws = RunWorkspaces.from_config(
        tmp_path / "run",
        workspace_agents=["a1", "a2"],
        context_paths=[{"path": str(ctx), "permission": "write"}],
        base=tmp_path,
    )
    ws.view_for("a1")
    servers = file_servers(base, ws.access("a1", "coordination"))
    by_name = {s.name: s.command[2:] for s in servers.specs}
    run = (tmp_path / "run").resolve()
    assert by_name == {
        WRITE_SERVER: (str(run / "workspaces/a1"),),
        READ_SERVER: (str(run / "views/a1"), str(ctx.resolve())),
    }
    assert all(s.command[:2] == base.command for s in servers.specs)
    # an agent without workspace and nothing to read gets no file server at all
    bare = RunWorkspaces(tmp_path / "run2", workspace_agents=[])
    assert file_servers(base, bare.access("x", "coordination")).specs == ()


def test_run_dirs_live_in_the_state_dir_and_are_new(mgx_home: Path) -> None:
    settings = Settings.from_env({"MGX_HOME": str(mgx_home)})
    path = new_run_dir(settings, run_id="r1")
    assert path == mgx_home / "state" / "runs" / "r1" and path.is_dir()
    with pytest.raises(WorkspaceConfigError, match="already exists"):
        new_run_dir(settings, run_id="r1")
    with pytest.raises(WorkspaceConfigError):
        new_run_dir(settings, run_id="../x")
    assert new_run_dir(settings) != new_run_dir(settings)
