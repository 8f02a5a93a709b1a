"""MassGen's own example configs (tests/data/massgen, copied from MassGen v0.0.23/v0.0.24):
every one yields its workspace settings, and those with workspace keys build a run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runtime.tools import ServerSpec
from runtime.tools._model import HubTool
from runtime.workspaces import (
    READ_SERVER,
    WRITE_SERVER,
    RunWorkspaces,
    WorkspaceConfigError,
    file_servers,
    is_file_write,
    workspace_config,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "massgen"
CONFIGS = sorted(DATA.rglob("*.yaml"))


def test_there_are_configs() -> None:
    assert len(CONFIGS) > 20


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(DATA)))
def test_every_massgen_config_yields_its_workspace_keys(path: Path, tmp_path: Path) -> None:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    ws_config = workspace_config(config)
    text = path.read_text(encoding="utf-8")
    assert bool(ws_config.workspace_agents) == ("cwd:" in text)
    if not ws_config.enabled:
        return
    if ws_config.context_paths:
        # MassGen's example points into MassGen's own checkout: a clear one-line error here
        with pytest.raises(WorkspaceConfigError, match=r"context_paths\[0\]: .* does not exist"):
            RunWorkspaces.from_config(
                tmp_path / "run",
                workspace_agents=ws_config.workspace_agents,
                context_paths=ws_config.context_paths,
                base=tmp_path,
            )
        (tmp_path / ws_config.context_paths[0]["path"]).mkdir(parents=True)
    run = RunWorkspaces.from_config(
        tmp_path / "run",
        workspace_agents=ws_config.workspace_agents,
        context_paths=ws_config.context_paths,
        base=tmp_path,
    )
    for agent in ws_config.workspace_agents:
        assert run.workspace(agent) == (tmp_path / "run" / "workspaces" / agent).resolve()
        assert run.workspace(agent).is_dir()  # type: ignore[union-attr]
    assert len(ws_config.notes()) >= len(ws_config.workspace_agents)


def test_the_context_path_example_in_detail(tmp_path: Path) -> None:
    path = DATA / "v0.0.23/tools/filesystem/gpt5mini_cc_fs_context_path.yaml"
    ws_config = workspace_config(yaml.safe_load(path.read_text()))
    assert ws_config.workspace_agents == ("agent1", "agent2")
    assert ws_config.snapshot_storage == "snapshots"
    assert ws_config.agent_temporary_workspace == "temp_workspaces"
    assert [dict(c) for c in ws_config.context_paths] == [
        {"path": "massgen/configs/resources/v0.0.21-example", "permission": "write"}
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"agents": "x"}, "expected a list"),
        ({"agents": [{"id": "a", "backend": {"cwd": ""}}]}, "cwd must be"),
        ({"agent": {"id": "a"}, "orchestrator": {"context_paths": "p"}}, "expected a list"),
        ({"orchestrator": ["x"]}, "expected a mapping"),
    ],
)
def test_bad_workspace_keys(config: dict[str, object], message: str) -> None:
    with pytest.raises(WorkspaceConfigError, match=message):
        workspace_config(config)


def test_file_writes_are_side_effects_for_planning_mode(tmp_path: Path) -> None:
    def tool(server: str, name: str) -> HubTool:
        return HubTool(name=f"{server}__{name}", server=server, tool=name, description="",
                       input_schema={})  # fmt: skip

    assert is_file_write(tool(WRITE_SERVER, "write_file"))
    assert is_file_write(tool(WRITE_SERVER, "some_new_tool"))  # unknown: treated as a write
    assert not is_file_write(tool(WRITE_SERVER, "read_text_file"))
    assert not is_file_write(tool(READ_SERVER, "read_text_file"))
    assert not is_file_write(tool("other", "write_file"))
    spec = ServerSpec(name="filesystem", command=("node", "x.js"))
    run = RunWorkspaces(tmp_path / "run", workspace_agents=("a",))
    specs = file_servers(spec, run.access("a", "coordination")).specs
    assert [s.name for s in specs] == [WRITE_SERVER, READ_SERVER]  # the view, empty so far
