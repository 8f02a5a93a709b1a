"""Installed files are verified against the hashes recorded at install, and repaired.

``mgx tool verify`` finds a modified file, a deleted entry point and an added executable,
without network and without starting anything; ``sync`` refuses a damaged install instead of
calling it "already present", and ``sync --repair`` rebuilds exactly the locked files.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

from marketplace.installers._files import FILES, full_drift, quick_drift, write_file_manifest
from tests.integrity.conftest import ECHO, run_mgx, tool_dir_of


def verify_json(project_dir: Path) -> tuple[int, dict[str, object]]:
    result = run_mgx("tool", "verify", "--json", cwd=project_dir)
    return result.returncode, json.loads(result.stdout)


def test_verify_finds_each_drift_and_sync_repair_restores_the_install(
    echo_installed: Path, tmp_path: Path
) -> None:
    project_dir = echo_installed
    code, report = verify_json(project_dir)
    assert code == 0 and report["ok"], report
    directory = tool_dir_of(project_dir, ECHO)
    manifest = json.loads((directory / FILES).read_text())["files"]
    assert "server/main.py" in manifest and "manifest.json" in manifest

    # An attacker appends code to the server, plants an executable, and a deletion breaks
    # another install path: the bundle's manifest (its entry point description).
    server = directory / "server" / "main.py"
    original = server.read_bytes()
    server.write_bytes(original + b"\nopen('/tmp/never', 'w')\n")
    planted = directory / "server" / "helper"
    planted.write_text("#!/bin/sh\necho owned\n")
    planted.chmod(planted.stat().st_mode | stat.S_IXUSR)
    (directory / "manifest.json").unlink()

    code, report = verify_json(project_dir)
    assert code == 1 and not report["ok"]
    (tool,) = report["tools"]
    details = {(d["check"], d["detail"]) for d in tool["drift"]}
    assert ("files", "server/main.py was modified") in details
    assert ("files", "server/helper was added (an executable that was not installed)") in details
    assert ("files", "manifest.json is missing") in details
    assert all(d["fix"] for d in tool["drift"])  # every drift names the command that fixes it
    text = run_mgx("tool", "verify", "echo", cwd=project_dir)
    assert text.returncode == 1 and "fix: `mgx tool sync --repair`" in text.stdout

    listed = json.loads(run_mgx("tool", "list", "--json", cwd=project_dir).stdout)
    assert [(r["installed"], r["damaged"]) for r in listed] == [(True, True)]

    # sync (the fast path too) notices instead of saying "already present".
    for argv in (("tool", "sync", "--frozen"), ("tool", "sync")):
        refused = run_mgx(*argv, cwd=project_dir)
        assert refused.returncode == 1, refused.stderr
        assert "damaged" in refused.stderr and "mgx tool sync --repair" in refused.stderr

    repaired = run_mgx("tool", "sync", "--frozen", "--repair", "--json", cwd=project_dir)
    assert repaired.returncode == 0, repaired.stderr
    assert json.loads(repaired.stdout)["installed"] == [ECHO]
    assert server.read_bytes() == original and not planted.exists()
    assert (directory / "manifest.json").is_file()
    code, report = verify_json(project_dir)
    assert code == 0 and report["ok"], report
    assert run_mgx("tool", "check", "echo", cwd=project_dir).returncode == 0


def test_a_deleted_entry_point_is_reported_and_repaired(echo_installed: Path) -> None:
    project_dir = echo_installed
    directory = tool_dir_of(project_dir, ECHO)
    (directory / "server" / "main.py").unlink()
    code, report = verify_json(project_dir)
    assert code == 1
    assert {"check": "files", "detail": "server/main.py is missing"}.items() <= {
        **report["tools"][0]["drift"][0]  # type: ignore[index]
    }.items()
    assert run_mgx("tool", "sync", "--repair", cwd=project_dir).returncode == 0
    assert (directory / "server" / "main.py").is_file()
    assert verify_json(project_dir)[0] == 0


def test_the_file_manifest_is_deterministic_and_relative(tmp_path: Path) -> None:
    for name in ("a", "b"):
        root = tmp_path / name
        (root / "bin").mkdir(parents=True)
        (root / "bin" / "tool").write_text("#!/bin/sh\n")
        (root / "bin" / "tool").chmod(0o755)
        (root / "lib.py").write_text("x = 1\n")
        (root / "link").symlink_to("lib.py")
        write_file_manifest(root)
    first, second = ((tmp_path / n / FILES).read_bytes() for n in ("a", "b"))
    assert first == second  # no absolute paths, no times
    data = json.loads(first)["files"]
    assert data["bin/tool"]["exec"] is True and data["link"] == {"link": "lib.py"}
    assert quick_drift(tmp_path / "a") == [] and full_drift(tmp_path / "a") == []
    # The same size, other bytes: only the full check (hashes) sees it.
    (tmp_path / "a" / "lib.py").write_text("x = 2\n")
    assert quick_drift(tmp_path / "a") == []
    assert full_drift(tmp_path / "a") == ["lib.py was modified"]
    # Files an interpreter adds at run time are not drift; executables are.
    (tmp_path / "a" / "__pycache__").mkdir()
    (tmp_path / "a" / "__pycache__" / "lib.cpython-311.pyc").write_bytes(b"\0")
    assert full_drift(tmp_path / "a") == ["lib.py was modified"]
