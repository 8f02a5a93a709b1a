"""The verbs end to end against a real loopback registry and real bundles (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketplace import commands
from marketplace.errors import ConfigError, InstallError, LockError, ResolutionError
from marketplace.installers import is_installed, tool_dir
from marketplace.lockfile import read_lock, unsatisfied
from marketplace.project import find_project, launch_specs
from tests.lock.conftest import World

ECHO = "io.github.test/echo"


def test_install_pins_checks_and_records(echo_world: World, project_dir: Path) -> None:
    project = find_project(create=True, settings=echo_world.settings)
    result = commands.install(project, "echo", "^1.0", toolset="research")
    assert (result.name, result.version, result.spec) == (ECHO, "1.1.0", "^1.0")
    assert result.changed and result.checked and result.tools == ["echo", "version"]
    assert result.package_type == "mcpb" and result.toolsets == ["research"]

    manifest = project.manifest()
    assert manifest.tools[ECHO].version == "^1.0"
    assert manifest.toolsets == {"research": (ECHO,)}
    lock = read_lock(project.lock_path)
    assert lock is not None and unsatisfied(manifest, lock) == []
    tool = lock.tools[ECHO]
    assert tool.version == "1.1.0" and tool.registry == echo_world.registry_url
    assert tool.package.artifacts[0].digest.startswith("sha256:")
    # an mcpb is pinned by its fileSha256: the digest match is the verification
    assert tool.verification == {"status": "verified", "policy": "prefer", "method": "sha256"}
    assert is_installed(project.settings, tool.package)
    text = project.lock_path.read_text()
    assert str(project.settings.data_dir) not in text and str(project_dir) not in text

    # The runtime's view: a ready LaunchSpec per tool of the set.
    specs = launch_specs(project, toolset="research")
    assert list(specs) == [ECHO] and specs[ECHO].command[0].endswith("python")

    # Installing again changes nothing (no re-resolution, no rewrite).
    before = project.lock_path.stat().st_mtime_ns
    again = commands.install(project, ECHO)
    assert not again.changed and project.lock_path.stat().st_mtime_ns == before


def test_default_spec_is_caret_of_the_chosen_version(echo_world: World, project_dir: Path) -> None:
    project = find_project(create=True, settings=echo_world.settings)
    result = commands.install(project, ECHO)
    assert (result.version, result.spec) == ("2.0.0", "^2.0.0")
    assert project.manifest().tools[ECHO].version == "^2.0.0"


def test_nothing_matches_lists_versions(echo_world: World, project_dir: Path) -> None:
    project = find_project(create=True, settings=echo_world.settings)
    with pytest.raises(ResolutionError, match=r"available: 2\.0\.0, 1\.2\.0-rc\.1, 1\.1\.0"):
        commands.install(project, ECHO, "^3")
    assert not project.manifest_path.exists() and not project.lock_path.exists()


def test_update_outdated_remove(echo_world: World, project_dir: Path) -> None:
    project = find_project(create=True, settings=echo_world.settings)
    commands.install(project, ECHO, "1.0.0")
    old = read_lock(project.lock_path).tools[ECHO]  # type: ignore[union-attr]
    report = commands.outdated(project)
    assert [(r.current, r.wanted, r.latest) for r in report.rows] == [("1.0.0", "1.0.0", "2.0.0")]

    # Widen the specifier by hand (comments survive), then update within it.
    text = project.manifest_path.read_text().replace('"1.0.0"', '"^1.0"  # keep on 1.x')
    project.manifest_path.write_text("# my tools\n" + text)
    assert commands.sync(project, frozen=True).present == [ECHO]  # 1.0.0 is within ^1.0
    result = commands.update(project)
    assert [(c.old, c.new, c.checked) for c in result.changes] == [("1.0.0", "1.1.0", True)]
    assert "# keep on 1.x" in project.manifest_path.read_text()
    assert "# my tools" in project.manifest_path.read_text()
    new = read_lock(project.lock_path).tools[ECHO]  # type: ignore[union-attr]
    assert new.version == "1.1.0" and new.spec == "^1.0"
    assert commands.sync(project, frozen=True).present == [ECHO]
    # The old install is gone (nobody else uses it), the new one is there.
    assert not tool_dir(project.settings, old.package).exists()
    assert is_installed(project.settings, new.package)
    assert commands.update(project).changes == []

    # A specifier the lock does not satisfy: --frozen refuses, plain sync re-resolves.
    text = project.manifest_path.read_text()
    project.manifest_path.write_text(text.replace('"^1.0"', '"^2"'))
    with pytest.raises(LockError, match=r"locked 1\.1\.0 does not satisfy '\^2'"):
        commands.sync(project, frozen=True)
    assert commands.sync(project).resolved == [ECHO]
    project.manifest_path.write_text(text)
    assert commands.sync(project).resolved == [ECHO]
    new = read_lock(project.lock_path).tools[ECHO]  # type: ignore[union-attr]
    assert new.version == "1.1.0"

    removed = commands.remove(project, "echo")
    assert removed.name == ECHO and removed.version == "1.1.0" and len(removed.deleted) == 1
    assert not tool_dir(project.settings, new.package).exists()
    assert ECHO not in project.manifest_path.read_text()
    assert read_lock(project.lock_path).tools == {}  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="no tool named 'echo'"):
        commands.remove(project, "echo")


def test_failed_start_rolls_back(world: World, project_dir: Path) -> None:
    world.publish(ECHO, ["1.0.0"])
    world.publish("io.github.test/broken", ["1.0.0"], fail=True)
    world.serve()
    project = find_project(create=True, settings=world.settings)
    commands.install(project, ECHO)
    manifest_before = project.manifest_path.read_text()
    lock_before = project.lock_path.read_text()
    with pytest.raises(InstallError, match="did not start, so nothing was changed.*broken build"):
        commands.install(project, "io.github.test/broken")
    assert project.manifest_path.read_text() == manifest_before
    assert project.lock_path.read_text() == lock_before
    installed = sorted(p.name for p in project.settings.tools_dir.iterdir())
    assert len(installed) == 1 and installed[0].startswith("mcpb-")  # only echo's
    assert not any(project.settings.staging_dir.iterdir())


def test_required_secret_skips_check_and_is_never_written(
    world: World, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.publish("io.github.test/keyed", ["1.0.0"], require_env="KEYED_TOKEN")
    world.serve()
    project = find_project(create=True, settings=world.settings)
    result = commands.install(project, "keyed")
    assert not result.checked and "token not set" in result.check_skipped
    with pytest.raises(ConfigError, match="required value"):
        commands.check(project, "keyed")

    # Bind the input to a variable by name in the manifest; the value lives only in the env.
    text = project.manifest_path.read_text().replace(
        '"^1.0.0"', '{ version = "^1.0.0", env = { token = { env = "MY_KEYED_TOKEN" } } }'
    )
    project.manifest_path.write_text(text)
    commands.sync(project)
    secret = "s3cr3t-value-9f8e7d"
    monkeypatch.setenv("MY_KEYED_TOKEN", secret)
    report = commands.check(project, "keyed")
    assert report.tools == ["echo", "version"]
    exported = commands.export(project, "cursor").config
    assert exported["mcpServers"]["keyed"]["env"] == {"KEYED_TOKEN": "${env:MY_KEYED_TOKEN}"}
    assert "${MY_KEYED_TOKEN}" in json.dumps(commands.export(project, "claude-desktop").config)
    for path in [project.manifest_path, project.lock_path, *project.settings.data_dir.rglob("*")]:
        if path.is_file() and not path.is_symlink():
            assert secret.encode() not in path.read_bytes(), path


def test_secret_value_in_manifest_is_refused(echo_world: World, project_dir: Path) -> None:
    project = find_project(create=True, settings=echo_world.settings)
    commands.install(project, ECHO)
    text = project.manifest_path.read_text().replace(
        '"^2.0.0"', '{ version = "^2.0.0", env = { GITHUB_TOKEN = "ghp_notreallysecret" } }'
    )
    project.manifest_path.write_text(text)
    with pytest.raises(ConfigError, match="never stores secret values") as info:
        commands.list_tools(project)
    assert "ghp_" not in str(info.value)


def test_export_formats(echo_world: World, project_dir: Path) -> None:
    project = find_project(create=True, settings=echo_world.settings)
    commands.install(project, ECHO)
    vscode = commands.export(project, "vscode").config["servers"]["echo"]
    assert vscode["type"] == "stdio" and vscode["command"] == "python"
    assert vscode["args"][0].startswith(str(project.settings.tools_dir))
    assert vscode["args"][0].endswith("/server/main.py")
    with pytest.raises(ConfigError, match="unknown client"):
        commands.export(project, "emacs")


def test_remote_tool(world: World, project_dir: Path) -> None:
    """A remote (streamable-http) server: nothing installed, URL and header names locked."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    from tests.lock.conftest import ECHO_SERVER, server_doc

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(ECHO_SERVER), "--name", "remote-echo", "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        remote = {
            "type": "streamable-http",
            "url": f"http://127.0.0.1:{port}/mcp",
            "headers": [{"name": "X-Api-Key", "isSecret": True, "isRequired": False}],
        }
        world.docs.append(
            server_doc("io.github.test/far", "1.0.0", [], remotes=[remote], latest=True)
        )
        world.serve()
        project = find_project(create=True, settings=world.settings)
        result = commands.install(project, "far")
        assert result.package_type == "remote" and result.tools == ["echo", "version"]
        tool = read_lock(project.lock_path).tools["io.github.test/far"]  # type: ignore[union-attr]
        assert tool.package.invocation.url == remote["url"]
        assert [h.name for h in tool.package.invocation.headers] == ["X-Api-Key"]
        assert not project.settings.tools_dir.exists() or not any(
            project.settings.tools_dir.iterdir()
        )
        cursor = commands.export(project, "cursor").config["mcpServers"]["far"]
        assert cursor == {"url": remote["url"], "headers": {"X-Api-Key": "${env:X-Api-Key}"}}
        claude = commands.export(project, "claude-desktop")
        assert claude.config == {"mcpServers": {}} and claude.skipped == ["io.github.test/far"]
        assert commands.check(project, "far").server_name == "remote-echo"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
