"""The real ``mgx`` in subprocesses: outputs, one-line errors, and concurrent installs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from marketplace.lockfile import read_lock
from tests.lock.conftest import MGX, World, run_mgx

ECHO = "io.github.test/echo"


def one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mgx: error: "), result.stderr
    assert fragment in lines[0], lines[0]


def test_install_list_check_export_remove(echo_world: World, project_dir: Path) -> None:
    done = run_mgx("tool", "install", "echo@^1", "--toolset", "research", "--json", cwd=project_dir)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["name"], result["version"], result["checked"]) == (ECHO, "1.1.0", True)

    listed = json.loads(run_mgx("tool", "list", "--json", cwd=project_dir).stdout)
    assert [(r["name"], r["version"], r["installed"], r["toolsets"]) for r in listed] == [
        (ECHO, "1.1.0", True, ["research"])
    ]
    table = run_mgx("tool", "list", cwd=project_dir).stdout
    assert ECHO in table and "installed" in table

    checked = json.loads(run_mgx("tool", "check", "echo", "--json", cwd=project_dir).stdout)
    assert checked["tools"] == ["echo", "version"] and checked["server_name"] == "echo"

    outdated = json.loads(run_mgx("tool", "outdated", "--json", cwd=project_dir).stdout)
    assert [(r["current"], r["wanted"], r["latest"]) for r in outdated["rows"]] == [
        ("1.1.0", "1.1.0", "2.0.0")
    ]

    out = project_dir / "cfg" / "mcp.json"
    out.parent.mkdir()  # export refuses a missing directory (it never invents one)
    exported = run_mgx("tool", "export", "--client", "cursor", "-o", str(out), cwd=project_dir)
    assert exported.returncode == 0, exported.stderr
    assert list(json.loads(out.read_text())["mcpServers"]) == ["echo"]

    frozen = run_mgx("tool", "sync", "--frozen", "--json", cwd=project_dir)
    assert json.loads(frozen.stdout)["present"] == [ECHO]

    gone = run_mgx("tool", "remove", "echo", cwd=project_dir)
    assert gone.returncode == 0 and "removed io.github.test/echo 1.1.0" in gone.stderr
    assert json.loads(run_mgx("tool", "list", "--json", cwd=project_dir).stdout) == []


def test_bad_input_is_one_line_and_non_zero(echo_world: World, project_dir: Path) -> None:
    one_line_error(run_mgx("tool", "list", cwd=project_dir), "no mgx.toml in")
    one_line_error(
        run_mgx("tool", "install", "echo@^^1", cwd=project_dir), "invalid version specifier"
    )
    one_line_error(run_mgx("tool", "install", "echo@^9", cwd=project_dir), "available: 2.0.0")
    one_line_error(run_mgx("tool", "install", "nope-nothing", cwd=project_dir), "no server named")
    one_line_error(
        run_mgx("tool", "install", "echo", "--type", "cargo", cwd=project_dir), "--type must be"
    )
    one_line_error(
        run_mgx("tool", "install", "echo", "--type", "npm", cwd=project_dir), "has no npm package"
    )
    one_line_error(
        run_mgx("tool", "install", "echo", "--toolset", "a b", cwd=project_dir), "tool set name"
    )
    assert not (project_dir / "mgx.toml").exists()  # nothing half-written by the failures
    assert run_mgx("tool", "install", "echo", cwd=project_dir).returncode == 0
    one_line_error(run_mgx("tool", "check", "missing", cwd=project_dir), "no tool named")
    one_line_error(
        run_mgx("tool", "export", "--client", "emacs", cwd=project_dir), "unknown client"
    )
    (project_dir / "mgx.lock").unlink()
    one_line_error(run_mgx("tool", "sync", "--frozen", cwd=project_dir), "--frozen needs mgx.lock")
    (project_dir / "mgx.lock").write_text("version = 7\n")
    one_line_error(run_mgx("tool", "list", cwd=project_dir), "format version 7")
    one_line_error(
        run_mgx(
            "tool", "sync", "--frozen", "--project", str(project_dir / "nope"), cwd=project_dir
        ),
        "does not exist",
    )


def test_two_concurrent_installs_both_land(world: World, project_dir: Path) -> None:
    world.publish("io.github.test/alpha", ["1.0.0"])
    world.publish("io.github.test/beta", ["1.0.0"])
    world.serve()
    # Create the project first so both processes find it (and not a parent directory's).
    assert run_mgx("tool", "install", "alpha", "--no-check", cwd=project_dir).returncode == 0
    assert run_mgx("tool", "remove", "alpha", cwd=project_dir).returncode == 0
    procs = [
        subprocess.Popen(
            [*MGX, "tool", "install", name],
            cwd=project_dir,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("alpha", "beta")
    ]
    try:
        outcomes = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0], outcomes
    lock = read_lock(project_dir / "mgx.lock")
    assert lock is not None and sorted(lock.tools) == [
        "io.github.test/alpha",
        "io.github.test/beta",
    ]
    text = (project_dir / "mgx.toml").read_text()
    assert "io.github.test/alpha" in text and "io.github.test/beta" in text
    synced = run_mgx("tool", "sync", "--frozen", "--json", cwd=project_dir)
    assert sorted(json.loads(synced.stdout)["present"]) == sorted(lock.tools)


@pytest.mark.parametrize("args", [["--frozen"], ["--frozen", "--json"]])
def test_fast_path_matches_full_cli(echo_world: World, project_dir: Path, args: list[str]) -> None:
    assert run_mgx("tool", "install", "echo", "--no-check", cwd=project_dir).returncode == 0
    fast = run_mgx("tool", "sync", *args, cwd=project_dir)
    # --no-check is not a fast-path option, so this goes through typer.
    full = run_mgx("tool", "sync", *args, "--no-check", cwd=project_dir)
    assert fast.returncode == full.returncode == 0
    assert fast.stdout == full.stdout and fast.stderr == full.stderr
