"""Real installs through the CLI: PyPI and npm servers, served by ``mgx registry serve``.

The registry entries (the official seed's ``time-mcp-pypi`` 1.0.6 as published, without a
``publishedAt``; ``mcp-server-time`` and ``@modelcontextprotocol/server-everything``) are put in
a SQLite cache and served by a real ``mgx registry serve`` process; mgx is pointed at it with
``mgx registry add``. Every install resolves against PyPI/npm, installs, is checked over MCP
(initialize + tools/list), is reproduced from the lock alone, and is removed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from marketplace.lockfile import read_lock
from marketplace.settings import Settings
from registry_cache.serverjson import parse_server
from registry_cache.store import Cache
from tests.lock.conftest import (
    EVERYTHING,
    MGX,
    OFFICIAL,
    TIME,
    real_everything_doc,
    real_time_doc,
    run_mgx,
)

pytestmark = pytest.mark.network

TIME_PYPI = "io.github.domdomegg/time-mcp-pypi"


@pytest.fixture
def registry(tmp_path: Path, test_data: Path, mgx_home: Path) -> Iterator[str]:
    seed = json.loads((test_data / "registry" / "seed.json").read_text())
    time_pypi = next(d for d in seed if d["name"] == TIME_PYPI and d["version"] == "1.0.6")
    docs = [
        # As the seed publishes it: no publishedAt, so the cut-off is the files' upload time.
        {"server": time_pypi, "_meta": {OFFICIAL: {"status": "active", "isLatest": True}}},
        real_time_doc(timezone_argument=True),
        real_everything_doc(),
    ]
    cache_path = tmp_path / "e2e.sqlite3"
    with Cache(cache_path) as cache:
        cache.upsert("e2e", [parse_server(d) for d in docs])
    proc = subprocess.Popen(
        [
            *MGX,
            "registry",
            "serve",
            "--cache",
            str(cache_path),
            "--registry",
            "e2e",
            "--port",
            "0",
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        url = match.group(1)
        for args in (
            ["registry", "remove", "official"],
            ["registry", "add", "e2e", url],
            ["registry", "sync", "e2e"],
        ):
            done = run_mgx(*args, cwd=tmp_path)
            assert done.returncode == 0, done.stderr
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)


def mgx_ok(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = run_mgx(*args, cwd=cwd, timeout=900)
    assert done.returncode == 0, done.stderr
    return done


def project(tmp_path: Path, name: str) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    return directory


def test_pypi_servers_install_check_reproduce_remove(
    registry: str, tmp_path: Path, mgx_home: Path
) -> None:
    settings = Settings.from_env({"MGX_HOME": str(mgx_home)})
    one = project(tmp_path, "one")
    installed = json.loads(mgx_ok("tool", "install", "mcp-server-time", "--json", cwd=one).stdout)
    assert (installed["name"], installed["version"]) == (TIME, "2025.9.25")
    assert {"get_current_time", "convert_time"} <= set(installed["tools"])
    assert installed["cutoff"] == "2025-09-26T00:00:00Z"  # the registry's publishedAt
    pinned = json.loads(mgx_ok("tool", "install", "time-mcp-pypi", "--json", cwd=one).stdout)
    assert pinned["cutoff"] == "2025-09-12T02:14:45Z"  # its files' upload time, rounded up
    assert pinned["tools"] == ["get_current_utc_time"]

    checked = json.loads(mgx_ok("tool", "check", "time-mcp-pypi", "--json", cwd=one).stdout)
    assert checked["tools"] == ["get_current_utc_time"]

    lock_text = (one / "mgx.lock").read_bytes()
    lock = read_lock(one / "mgx.lock")
    assert lock is not None
    for tool in lock.tools.values():
        assert tool.package.registry_type == "pypi" and tool.package.closure
        assert all(h.startswith("sha256:") for d in tool.package.closure for h in d.hashes)
    assert str(mgx_home).encode() not in lock_text

    # Reproducibility: a second resolution gives the same bytes; the lock alone rebuilds.
    two = project(tmp_path, "two")
    mgx_ok("tool", "install", "mcp-server-time", cwd=two)
    mgx_ok("tool", "install", "time-mcp-pypi", cwd=two)
    assert (two / "mgx.lock").read_bytes() == lock_text
    mgx_ok("tool", "remove", "mcp-server-time", cwd=two)
    mgx_ok("tool", "remove", "time-mcp-pypi", cwd=two)
    shutil.rmtree(settings.tools_dir)
    synced = json.loads(mgx_ok("tool", "sync", "--frozen", "--json", cwd=one).stdout)
    assert sorted(synced["installed"]) == sorted(lock.tools)
    assert (one / "mgx.lock").read_bytes() == lock_text
    assert json.loads(mgx_ok("tool", "check", "server-time", "--json", cwd=one).stdout)["tools"]

    # Resolved against today's packages, time-mcp-pypi 1.0.6 no longer starts: refused, and
    # nothing changes.
    failed = run_mgx("tool", "install", "time-mcp-pypi", "--resolve", "now", cwd=one, timeout=900)
    assert failed.returncode != 0
    assert "did not start, so nothing was changed" in failed.stderr
    assert (one / "mgx.lock").read_bytes() == lock_text

    for name in ("mcp-server-time", "time-mcp-pypi"):
        mgx_ok("tool", "remove", name, cwd=one)
    assert not any(settings.tools_dir.iterdir())
    assert read_lock(one / "mgx.lock").tools == {}  # type: ignore[union-attr]


@pytest.mark.npm
def test_npm_server_everything(registry: str, tmp_path: Path, mgx_home: Path) -> None:
    settings = Settings.from_env({"MGX_HOME": str(mgx_home)})
    here = project(tmp_path, "npm")
    started = time.monotonic()
    result = json.loads(
        mgx_ok(
            "tool", "install", "@modelcontextprotocol/server-everything", "--json", cwd=here
        ).stdout
    )
    assert (result["name"], result["package_type"]) == (EVERYTHING, "npm")
    assert "echo" in result["tools"], result
    lock = read_lock(here / "mgx.lock")
    assert lock is not None
    package = lock.tools[EVERYTHING].package
    assert package.artifacts[0].digest.startswith("sha512-") and not package.allow_scripts
    checked = json.loads(mgx_ok("tool", "check", "server-everything", "--json", cwd=here).stdout)
    assert "echo" in checked["tools"]
    shutil.rmtree(settings.tools_dir)
    assert json.loads(mgx_ok("tool", "sync", "--frozen", "--json", cwd=here).stdout)["installed"]
    exported = json.loads(mgx_ok("tool", "export", "--client", "vscode", cwd=here).stdout)
    assert exported["servers"]["server-everything"]["type"] == "stdio"
    mgx_ok("tool", "remove", "server-everything", cwd=here)
    assert not any(settings.tools_dir.iterdir())
    assert time.monotonic() - started < 900
