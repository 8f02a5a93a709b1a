"""``mgx client add | remove`` on every client: merged into a real config, taken out again.

Each client's fixture (tests/data/clients/<client>.<ext>) holds other servers, settings and,
where the format allows, comments. Adding the gateway entry must give exactly the reviewed
golden file; removing it must give back the original byte for byte; a backup of the original
is written before the first change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from marketplace.clients import (
    CLIENTS,
    Where,
    add_entries,
    client_by_id,
    direct_launches,
    gateway_launch,
    list_clients,
    per_tool_launches,
    remove_entries,
)
from marketplace.errors import ConfigError
from marketplace.project import find_project
from tests.clients.conftest import DATA
from tests.gateway.conftest import SECRET, GwProject
from tests.lock.conftest import run_mgx

EXT = {"json": "json", "jsonc": "jsonc", "toml": "toml", "yaml": "yaml"}


def fixture_for(client_id: str) -> Path:
    client = client_by_id(client_id)
    return DATA / f"{client_id}.{EXT[client.format]}"


def golden_for(client_id: str) -> Path:
    client = client_by_id(client_id)
    return DATA / f"{client_id}.added.{EXT[client.format]}"


def place(client_id: str, where: Where) -> Path:
    """Put the client's fixture config at its real location under the test's HOME."""
    path = client_by_id(client_id).path(where)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fixture_for(client_id).read_bytes())
    return path


@pytest.mark.parametrize("client_id", [c.id for c in CLIENTS])
def test_add_merges_and_remove_restores_byte_for_byte(
    client_id: str, gw_project: GwProject, home: Path
) -> None:
    project = find_project(gw_project.root, settings=gw_project.settings)
    where = Where(env=dict(os.environ), project=project.root)
    path = place(client_id, where)
    assert str(path).startswith(str(home) + os.sep) or client_by_id(client_id).workspace
    original = path.read_bytes()

    launch = gateway_launch(project, "work", command="mgx")
    change = add_entries(gw_project.settings, client_id, [launch], where=where)
    assert change.written and change.added == ["mgx-work"]
    added = path.read_text(encoding="utf-8").replace(str(project.root), "{PROJECT}")
    golden = golden_for(client_id)
    if os.environ.get("MGX_REGEN_GOLDEN") == "1":  # maintainers: review the diff before commit
        golden.write_text(added, encoding="utf-8")
    assert added == golden.read_text(encoding="utf-8")
    assert SECRET not in added  # references only, never values
    assert change.backup is not None and change.backup.read_bytes() == original

    listed = {s.client: s for s in list_clients(gw_project.settings, where)}[client_id]
    assert listed.mgx_entries == ["mgx-work"] and listed.other_servers

    # Adding again replaces mgx's own entry in place: same text, the backup untouched.
    again = add_entries(gw_project.settings, client_id, [launch], where=where)
    assert (
        not again.written
        and path.read_text(encoding="utf-8").replace(str(project.root), "{PROJECT}") == added
    )

    removed = remove_entries(gw_project.settings, client_id, where=where)
    assert removed.removed == ["mgx-work"]
    assert path.read_bytes() == original
    assert remove_entries(gw_project.settings, client_id, where=where).removed == []


def test_gateway_entry_shape_and_secret_reference(gw_project: GwProject, home: Path) -> None:
    project = find_project(gw_project.root, settings=gw_project.settings)
    where = Where(env=dict(os.environ), project=project.root)
    path = place("cursor", where)
    add_entries(
        gw_project.settings, "cursor", [gateway_launch(project, "work", command="mgx")], where=where
    )
    entry = json.loads(path.read_text())["mcpServers"]["mgx-work"]
    assert entry == {
        "command": "mgx",
        "args": ["tool", "serve", "--toolset", "work", "-C", str(project.root)],
        "env": {"MY_GW_SECRET": "${env:MY_GW_SECRET}"},
    }


def test_per_tool_and_direct_entries(gw_project: GwProject, home: Path) -> None:
    project = find_project(gw_project.root, settings=gw_project.settings)
    where = Where(env=dict(os.environ), project=project.root)
    path = place("vscode", where)
    per_tool = per_tool_launches(project, "work", command="mgx")
    add_entries(gw_project.settings, "vscode", per_tool, where=where)
    servers = _jsonc_servers(path)
    assert servers["mgx-alpha"]["args"] == [
        "tool",
        "run",
        "io.github.test/alpha",
        "-C",
        str(project.root),
    ]
    assert servers["mgx-beta"]["env"] == {"MY_GW_SECRET": "${env:MY_GW_SECRET}"}
    remove_entries(gw_project.settings, "vscode", where=where)
    assert path.read_bytes() == fixture_for("vscode").read_bytes()

    launches, skipped = direct_launches(project, "work")
    assert not skipped
    add_entries(gw_project.settings, "vscode", launches, where=where)
    beta = _jsonc_servers(path)["mgx-beta"]
    assert beta["type"] == "stdio" and beta["command"] != "mgx"
    assert beta["env"] == {"GW_TOKEN": "${env:MY_GW_SECRET}"}  # the bundle's variable, by reference
    # Cline has no env reference syntax: a raw invocation needing a secret is refused.
    place("cline", where)
    with pytest.raises(ConfigError, match="no syntax for environment references"):
        add_entries(gw_project.settings, "cline", launches, where=where)
    assert client_by_id("cline").path(where).read_bytes() == fixture_for("cline").read_bytes()


def _jsonc_servers(path: Path) -> dict[str, dict[str, object]]:
    from marketplace.clients._jsonc import JsoncDocument

    data = JsoncDocument(path.read_text(), where=str(path)).data()
    return dict(data["servers"])


def test_a_server_mgx_did_not_write_is_never_replaced(gw_project: GwProject, home: Path) -> None:
    project = find_project(gw_project.root, settings=gw_project.settings)
    where = Where(env=dict(os.environ), project=project.root)
    path = place("claude-desktop", where)
    text = path.read_text().replace('"filesystem"', '"mgx-work"')
    path.write_text(text)
    with pytest.raises(ConfigError, match="mgx did not write"):
        add_entries(
            gw_project.settings,
            "claude-desktop",
            [gateway_launch(project, "work", command="mgx")],
            where=where,
        )
    assert path.read_text() == text
    assert not (path.parent / (path.name + ".mgx-backup")).exists()


def test_hand_edited_mgx_entry_is_left_in_place(gw_project: GwProject, home: Path) -> None:
    project = find_project(gw_project.root, settings=gw_project.settings)
    where = Where(env=dict(os.environ), project=project.root)
    path = place("codex", where)
    add_entries(
        gw_project.settings, "codex", [gateway_launch(project, "work", command="mgx")], where=where
    )
    edited = path.read_text().replace('command = "mgx"', 'command = "/opt/mgx/bin/mgx"')
    path.write_text(edited)
    change = remove_entries(gw_project.settings, "codex", where=where)
    assert change.kept == ["mgx-work"] and path.read_text() == edited


def test_new_config_file_is_created_and_removed(gw_project: GwProject, home: Path) -> None:
    project = find_project(gw_project.root, settings=gw_project.settings)
    where = Where(env=dict(os.environ), project=project.root)
    path = client_by_id("gemini").path(where)
    path.parent.mkdir(parents=True)
    change = add_entries(
        gw_project.settings, "gemini", [gateway_launch(project, None, command="mgx")], where=where
    )
    assert change.backup is None and json.loads(path.read_text())["mcpServers"]["mgx"]["args"][
        :2
    ] == ["tool", "serve"]
    remove_entries(gw_project.settings, "gemini", where=where)
    assert not path.exists()


def test_client_not_installed_is_refused(gw_project: GwProject, home: Path) -> None:
    project = find_project(gw_project.root, settings=gw_project.settings)
    where = Where(env=dict(os.environ), project=project.root)
    with pytest.raises(ConfigError, match="does not seem to be installed"):
        add_entries(
            gw_project.settings, "zed", [gateway_launch(project, None, command="mgx")], where=where
        )


def test_cli_dry_run_add_list_remove(gw_project: GwProject, home: Path) -> None:
    env = {**gw_project.env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    where = Where(env=env, project=gw_project.root)
    path = place("windsurf", where)
    original = path.read_bytes()
    dry = run_mgx(
        "client", "add", "windsurf", "-t", "work", "--dry-run", cwd=gw_project.root, env=env
    )
    assert dry.returncode == 0, dry.stderr
    assert '+        "mgx-work": {' in dry.stdout and dry.stdout.startswith("---")
    assert path.read_bytes() == original and not list(path.parent.glob("*.mgx-backup"))

    done = run_mgx("client", "add", "windsurf", "-t", "work", cwd=gw_project.root, env=env)
    assert done.returncode == 0, done.stderr
    assert "added mgx-work" in done.stdout and "backup of the original" in done.stderr
    listed = run_mgx("client", "list", "--json", cwd=gw_project.root, env=env)
    rows = {r["client"]: r for r in json.loads(listed.stdout)}
    assert rows["windsurf"]["mgx_entries"] == ["mgx-work"]
    assert rows["windsurf"]["other_servers"] == ["brave-search"]
    assert rows["cursor"]["present"] is False

    gone = run_mgx("client", "remove", "windsurf", cwd=gw_project.root, env=env)
    assert gone.returncode == 0 and "removed mgx-work" in gone.stdout
    assert path.read_bytes() == original

    bad = run_mgx("client", "add", "emacs", cwd=gw_project.root, env=env)
    assert bad.returncode == 2 and "unknown client 'emacs'" in bad.stderr
    both = run_mgx(
        "client", "add", "cursor", "--per-tool", "--direct", cwd=gw_project.root, env=env
    )
    assert both.returncode == 2 and "exclude each other" in both.stderr
