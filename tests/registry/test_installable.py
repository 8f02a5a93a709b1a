"""A catalogue that installs: search ranks what this machine can install first and says why
the others cannot be installed, in search, info and the install error alike.

Runs the real ``mgx`` offline over the bundled snapshot; PATH decides what "here" can run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MGX = [sys.executable, "-c", "import sys; from runtime.entry import main; sys.exit(main())"]
NUGET = "io.github.domdomegg/time-mcp-nuget"
FILESYSTEM = "io.github.modelcontextprotocol/server-filesystem"
# PATH with the test interpreter only: no node, no docker, no dotnet.
PYTHON_ONLY = str(Path(sys.executable).parent)
NO_DOTNET = "nuget needs dotnet, not found on PATH"


def mgx(*args: str, cwd: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MGX_OFFLINE": "1"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [*MGX, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_search_ranks_installable_first_and_marks_the_others(tmp_path: Path) -> None:
    done = mgx("tool", "search", "time", "--json", cwd=tmp_path, path=PYTHON_ONLY)
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    flags = [h["installable"] for h in hits]
    assert True in flags and False in flags
    assert flags == sorted(flags, reverse=True)  # every installable one before any other
    by_name = {h["name"]: h for h in hits}
    assert by_name[NUGET]["notInstallableReason"] == NO_DOTNET
    seeds = [h for h in hits if not h["types"]]
    assert seeds and all(h["notInstallableReason"] == "no package" for h in seeds)

    table = mgx("tool", "search", "time", cwd=tmp_path, path=PYTHON_ONLY).stdout
    assert "[no package]" in table and f"[{NO_DOTNET}]" in table

    only = json.loads(
        mgx(
            "tool", "search", "time", "--installable", "--json", cwd=tmp_path, path=PYTHON_ONLY
        ).stdout
    )
    assert only and all(h["installable"] for h in only)
    assert {h["name"] for h in only} == {h["name"] for h in hits if h["installable"]}


def test_a_type_this_machine_cannot_run_is_not_installable_here(tmp_path: Path) -> None:
    no_node = PYTHON_ONLY
    hits = json.loads(
        mgx("tool", "search", "filesystem", "--json", cwd=tmp_path, path=no_node).stdout
    )
    npm = next(h for h in hits if h["name"] == FILESYSTEM)
    assert not npm["installable"]
    assert npm["notInstallableReason"] == "npm needs node and npm, not found on PATH"
    shown = mgx("tool", "info", FILESYSTEM, cwd=tmp_path, path=no_node).stdout
    assert "installable here: NO (npm needs node and npm, not found on PATH)" in shown
    failed = mgx("tool", "install", FILESYSTEM, cwd=tmp_path, path=no_node)
    assert failed.returncode == 1
    assert "cannot be installed here: npm needs node and npm, not found on PATH" in failed.stderr
    assert list(tmp_path.iterdir()) == []


def test_info_and_install_say_why_not(tmp_path: Path) -> None:
    info = json.loads(mgx("tool", "info", NUGET, "--json", cwd=tmp_path, path=PYTHON_ONLY).stdout)
    assert info["installable"] is False
    assert info["notInstallableReason"] == NO_DOTNET
    text = mgx("tool", "info", NUGET, cwd=tmp_path, path=PYTHON_ONLY).stdout
    assert f"installable here: NO ({NO_DOTNET})" in text
    failed = mgx("tool", "install", NUGET, cwd=tmp_path, path=PYTHON_ONLY)
    assert failed.returncode == 1
    assert failed.stderr.strip().endswith(f"cannot be installed here: {NO_DOTNET}")
    assert len(failed.stderr.strip().splitlines()) == 1

    pypi = json.loads(mgx("tool", "info", "mcp-server-time", "--json", cwd=tmp_path).stdout)
    assert pypi["installable"] is True and pypi["installableTypes"] == ["pypi"]
    seed = mgx("tool", "install", "crypto-feargreed-mcp", cwd=tmp_path)
    assert seed.returncode == 1 and "cannot be installed: no package" in seed.stderr
    assert list(tmp_path.iterdir()) == []


def test_search_fast_path_answers_as_the_full_cli(tmp_path: Path) -> None:
    """A plain search is answered before typer loads; ``--limit=N`` (one word) is not a form
    the fast path takes, so it sends the same search through the typer command."""
    for args, limit in (
        (("time", "--json"), 20),
        (("time",), 20),
        (("time", "--installable", "--json"), 3),
        (("filesystem", "--type", "npm", "--transport", "stdio", "--json"), 20),
        (("time", "--type", "rust"), 20),
    ):
        fast = mgx("tool", "search", *args, "-n", str(limit), cwd=tmp_path)
        full = mgx("tool", "search", *args, f"--limit={limit}", cwd=tmp_path)
        assert fast.returncode == full.returncode, (fast.stderr, full.stderr)
        assert fast.stdout == full.stdout and fast.stderr == full.stderr
    assert fast.returncode == 2 and "unknown package type 'rust'" in fast.stderr
    probe = (
        "import sys; from runtime.entry import main; sys.argv = ['mgx', 'tool', 'search', 'time']; "
        "code = main(); sys.stderr.write('typer loaded' if 'typer' in sys.modules else 'fast');"
        "sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "MGX_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stderr.endswith("fast"), done.stderr
