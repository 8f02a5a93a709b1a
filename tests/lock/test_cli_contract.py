"""The defects of issue 13, each held by a test through the real ``mgx`` in a subprocess."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from marketplace.lockfile import read_lock
from tests.lock.conftest import World, run_mgx

ECHO = "io.github.test/echo"


def _error(done: object, code: int, fragment: str) -> str:
    assert done.returncode == code, done.stderr  # type: ignore[attr-defined]
    lines = done.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("mgx: error: "), lines
    assert fragment in lines[0], lines[0]
    return str(lines[0])


def test_install_by_package_name_changes_nothing(echo_world: World, project_dir: Path) -> None:
    assert run_mgx("tool", "install", "echo@^1", cwd=project_dir).returncode == 0
    lock_before = (project_dir / "mgx.lock").read_text()
    manifest_before = (project_dir / "mgx.toml").read_text()
    identifier = read_lock(project_dir / "mgx.lock").tools[ECHO].package.identifier  # type: ignore[union-attr]
    echo_world.files.hits.clear()
    again = run_mgx("tool", "install", identifier, "--json", cwd=project_dir)
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert (result["name"], result["version"], result["changed"]) == (ECHO, "1.1.0", False)
    assert (project_dir / "mgx.lock").read_text() == lock_before
    assert (project_dir / "mgx.toml").read_text() == manifest_before
    assert echo_world.files.hits == []  # nothing was fetched again


def test_env_and_arg_options_bind_inputs(world: World, project_dir: Path) -> None:
    world.publish("io.github.test/keyed", ["1.0.0"], require_env="AT_KEY")
    world.serve()
    env = {k: v for k, v in os.environ.items() if k != "MY_AT_KEY"}
    _error(run_mgx("tool", "install", "keyed", "--env", "token", cwd=project_dir), 2, "--env")
    _error(
        run_mgx("tool", "install", "keyed", "--env", "nosuch=X", cwd=project_dir),
        2,
        "takes no variable 'nosuch'",
    )
    _error(
        run_mgx("tool", "install", "keyed", "--arg", "token=abc", cwd=project_dir),
        2,
        "secret",
    )
    assert not (project_dir / "mgx.toml").exists() and not (project_dir / ".mgx").exists()

    done = run_mgx(
        "tool", "install", "keyed", "--env", "token=MY_AT_KEY", "--json", cwd=project_dir
    )
    assert done.returncode == 0, done.stderr
    assert "MY_AT_KEY not set" in json.loads(done.stdout)["check_skipped"]
    assert 'token = {env = "MY_AT_KEY"}' in (project_dir / "mgx.toml").read_text()
    assert read_lock(project_dir / "mgx.lock").tools["io.github.test/keyed"].env == {  # type: ignore[union-attr]
        "token": "MY_AT_KEY"
    }
    # The missing value is named by the variable the user bound, not the server's name.
    message = _error(run_mgx("tool", "check", "keyed", cwd=project_dir, env=env), 2, "MY_AT_KEY")
    assert "not set" in message
    ok = run_mgx("tool", "check", "keyed", cwd=project_dir, env={"MY_AT_KEY": "x"})
    assert ok.returncode == 0, ok.stderr


def test_unknown_lock_keys_are_refused(echo_world: World, project_dir: Path) -> None:
    assert run_mgx("tool", "install", "echo", cwd=project_dir).returncode == 0
    lock = project_dir / "mgx.lock"
    good = lock.read_text()
    lock.write_text(good.replace("version = 1\n", 'version = 1\ncolour = "red"\n', 1))
    _error(run_mgx("tool", "list", cwd=project_dir), 2, "unknown key 'colour'")
    lock.write_text(good.replace('server = "', 'sever = "x"\nserver = "', 1))
    _error(run_mgx("tool", "sync", "--frozen", cwd=project_dir), 2, "unknown key 'sever'")
    lock.write_text(
        good.replace("[tools.", "x = 1\n[tools.", 1).replace(
            'identifier = "', 'identifer = "x"\nidentifier = "', 1
        )
    )
    _error(run_mgx("tool", "list", cwd=project_dir), 2, "unknown key")


def test_lock_version_as_a_string_says_so(echo_world: World, project_dir: Path) -> None:
    assert run_mgx("tool", "install", "echo", cwd=project_dir).returncode == 0
    lock = project_dir / "mgx.lock"
    lock.write_text(lock.read_text().replace("version = 1\n", 'version = "1"\n', 1))
    line = _error(run_mgx("tool", "list", cwd=project_dir), 2, "must be the integer 1")
    assert "this mgx reads version 1" not in line and "'1', a str" in line


def test_failed_install_outside_a_project_leaves_nothing(
    echo_world: World, project_dir: Path
) -> None:
    _error(run_mgx("tool", "install", "no-such-server", cwd=project_dir), 2, "no server named")
    _error(run_mgx("tool", "install", "echo@^9", cwd=project_dir), 1, "available")
    assert list(project_dir.iterdir()) == []


def test_remove_drops_a_tool_set_left_empty(echo_world: World, project_dir: Path) -> None:
    echo_world.publish("io.github.test/other", ["1.0.0"])
    echo_world.serve()
    assert run_mgx("tool", "install", "echo", "-t", "solo", cwd=project_dir).returncode == 0
    assert run_mgx("tool", "install", "other", "-t", "pair", cwd=project_dir).returncode == 0
    assert run_mgx("tool", "install", "echo", "-t", "pair", cwd=project_dir).returncode == 0
    assert run_mgx("tool", "remove", "echo", cwd=project_dir).returncode == 0
    text = (project_dir / "mgx.toml").read_text()
    assert "solo" not in text and "tools = []" not in text
    assert "[toolsets.pair]" in text
    assert read_lock(project_dir / "mgx.lock").toolsets == {"pair": ("io.github.test/other",)}  # type: ignore[union-attr]


def test_bad_specifier_in_manifest_under_frozen_names_the_file(
    echo_world: World, project_dir: Path
) -> None:
    assert run_mgx("tool", "install", "echo", cwd=project_dir).returncode == 0
    manifest = project_dir / "mgx.toml"
    manifest.write_text(manifest.read_text().replace('"^2.0.0"', '"^^2"'))
    for args in (("tool", "sync", "--frozen"), ("tool", "sync")):
        _error(run_mgx(*args, cwd=project_dir), 2, "mgx.toml")


def test_npm_skipped_for_lack_of_node_is_said(world: World, project_dir: Path) -> None:
    from tests.lock.conftest import server_doc

    bundle = world.bundle("io.github.test/both", "1.0.0")
    npm = {
        "registryType": "npm",
        "identifier": "mgx-test-both",
        "version": "1.0.0",
        "transport": {"type": "stdio"},
    }
    world.docs.append(server_doc("io.github.test/both", "1.0.0", [npm, bundle], latest=True))
    world.serve()
    only_python = str(Path(sys.executable).parent)  # python for the bundle, no node
    done = run_mgx("tool", "install", "both", cwd=project_dir, env={"PATH": only_python})
    assert done.returncode == 0, done.stderr
    assert (
        "mgx: warning: io.github.test/both: its npm package is skipped (npm needs node and npm, "
        "not found on PATH); installing the mcpb one instead"
    ) in done.stderr
