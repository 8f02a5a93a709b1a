"""nuget servers through the real ``mgx``: a registry entry served by the project's registry
server, its package on a NuGet v3 feed on loopback (``tests/installers/nuget_feed.py``).

Without dotnet on PATH, search and info say the server is not installable here and why, and
an install fails with exit 1 and one line naming dotnet, recording nothing. With dotnet
(marker ``dotnet``), a real tool built by ``dotnet pack`` is installed, locked by its sha512,
verified, and reinstalled from the lock.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from marketplace.lockfile import read_lock
from tests.installers.conftest import LoopbackHTTP
from tests.installers.nuget_feed import NuGetFeed, make_nupkg
from tests.lock.conftest import World, run_mgx, server_doc

NAME = "io.github.test/tiny-nuget"
TOOL = "Mgx.Tests.TinyTool"
NO_DOTNET = "nuget needs dotnet, not found on PATH"


def nuget_doc(feed: NuGetFeed) -> dict[str, Any]:
    package = {
        "registryType": "nuget",
        "registryBaseUrl": feed.index_url,
        "identifier": TOOL,
        "version": "1.0.8",
        "runtimeHint": "dnx",
        "transport": {"type": "stdio"},
    }
    return server_doc(NAME, "1.0.8", [package], latest=True)


@pytest.fixture
def feed() -> Iterator[NuGetFeed]:
    http = LoopbackHTTP()
    try:
        yield NuGetFeed(http=http)
    finally:
        http.close()


@pytest.fixture
def python_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """PATH with the test interpreter only (python for the echo bundles; no dotnet)."""
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert shutil.which("dotnet") is None


def _one_line_error(done: subprocess.CompletedProcess[str], fragment: str) -> str:
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mgx: error: "), lines
    assert fragment in lines[0], lines[0]
    return lines[0]


def test_search_and_info_say_nuget_needs_dotnet(
    world: World, feed: NuGetFeed, project_dir: Path, python_only: None
) -> None:
    feed.publish(TOOL, "1.0.8", make_nupkg(TOOL, "1.0.8"))
    world.docs.append(nuget_doc(feed))
    world.serve()
    hits = json.loads(run_mgx("tool", "search", "tiny-nuget", "--json", cwd=project_dir).stdout)
    hit = next(h for h in hits if h["name"] == NAME)
    assert (hit["installable"], hit["notInstallableReason"]) == (False, NO_DOTNET)
    table = run_mgx("tool", "search", "tiny-nuget", cwd=project_dir).stdout
    assert f"[{NO_DOTNET}]" in table
    info = json.loads(run_mgx("tool", "info", NAME, "--json", cwd=project_dir).stdout)
    assert (info["installable"], info["notInstallableReason"]) == (False, NO_DOTNET)
    text = run_mgx("tool", "info", NAME, cwd=project_dir).stdout
    assert f"installable here: NO ({NO_DOTNET})" in text


def test_install_without_dotnet_fails_with_nothing_recorded(
    world: World, feed: NuGetFeed, project_dir: Path, python_only: None
) -> None:
    feed.publish(TOOL, "1.0.8", make_nupkg(TOOL, "1.0.8"))
    world.docs.append(nuget_doc(feed))
    world.publish("io.github.test/echo", ["1.0.0"])
    world.serve()

    # Outside a project: nothing is created where mgx ran.
    _one_line_error(
        run_mgx("tool", "install", NAME, cwd=project_dir), f"cannot be installed here: {NO_DOTNET}"
    )
    assert list(project_dir.iterdir()) == []
    # Asked for the nuget package by name: resolved and verified, then refused for dotnet.
    _one_line_error(
        run_mgx("tool", "install", NAME, "--type", "nuget", cwd=project_dir),
        "nuget packages need dotnet (the .NET SDK) on PATH",
    )
    assert list(project_dir.iterdir()) == []
    assert not list(world.settings.tools_dir.glob("nuget-*"))

    # Inside a project: its files are left as they were.
    assert run_mgx("tool", "install", "echo", cwd=project_dir).returncode == 0
    before = {p.name: p.read_bytes() for p in project_dir.iterdir() if p.is_file()}
    _one_line_error(run_mgx("tool", "install", NAME, "--type", "nuget", cwd=project_dir), "dotnet")
    assert {p.name: p.read_bytes() for p in project_dir.iterdir() if p.is_file()} == before


@pytest.mark.dotnet
def test_dotnet_install_locks_the_sha512_and_sync_frozen_reinstalls_it(
    world: World, feed: NuGetFeed, project_dir: Path, tmp_path: Path
) -> None:
    sdk = subprocess.run(
        ["dotnet", "--version"], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()
    source = tmp_path / "tool"
    source.mkdir()
    (source / "Program.cs").write_text('System.Console.WriteLine("tiny-tool");\n')
    (source / "TinyTool.csproj").write_text(
        '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><OutputType>Exe</OutputType>'
        f"<TargetFramework>net{sdk.split('.')[0]}.0</TargetFramework>"
        "<PackAsTool>true</PackAsTool><ToolCommandName>tiny-tool</ToolCommandName>"
        f"<PackageId>{TOOL}</PackageId><Version>1.0.8</Version></PropertyGroup></Project>"
    )
    env = {**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1", "DOTNET_NOLOGO": "1"}
    subprocess.run(
        ["dotnet", "pack", "-c", "Release", "-o", str(tmp_path / "out")],
        cwd=source,
        env=env,
        capture_output=True,
        check=True,
        timeout=600,
    )
    body = (tmp_path / "out" / f"{TOOL}.1.0.8.nupkg").read_bytes()
    published = feed.publish(TOOL, "1.0.8", body)
    world.docs.append(nuget_doc(feed))
    world.serve()

    # The tool is not an MCP server, so the MCP check is left out.
    done = run_mgx("tool", "install", NAME, "--no-check", cwd=project_dir)
    assert done.returncode == 0, done.stderr
    lock = read_lock(project_dir / "mgx.lock")
    assert lock is not None
    digest = lock.tools[NAME].package.artifacts[0].digest
    assert digest == "sha512:" + hashlib.sha512(body).hexdigest()
    assert base64.b64decode(published.package_hash).hex() == digest.removeprefix("sha512:")
    # Only the tool-description pins are missing (no MCP check ran): files and invocation hold.
    report = json.loads(run_mgx("tool", "verify", "--json", cwd=project_dir).stdout)
    assert {d["check"] for t in report["tools"] for d in t["drift"]} == {"tool-pins"}
    # The kept .nupkg is what the invocation rule reads; altered, verify says so.
    directory = next(world.settings.tools_dir.glob("nuget-*"))
    kept = directory / ".mgx-nupkg" / "mgx.tests.tinytool.1.0.8.nupkg"
    kept.write_bytes(body + b"\0")
    report = json.loads(run_mgx("tool", "verify", "--json", cwd=project_dir).stdout)
    details = " ".join(d["detail"] for t in report["tools"] for d in t["drift"])
    assert "sha512 differs" in details and "was modified" in details

    # Reinstalled from the lock alone, after the install and mgx's cache are gone.
    shutil.rmtree(world.settings.tools_dir)
    shutil.rmtree(world.settings.cache_dir / "nuget")
    again = run_mgx("tool", "sync", "--frozen", "--no-check", cwd=project_dir)
    assert again.returncode == 0, again.stderr
    # The feed serving other bytes than the lock pinned: refused, nothing installed.
    shutil.rmtree(world.settings.tools_dir)
    shutil.rmtree(world.settings.cache_dir / "nuget")
    feed.tamper(TOOL, "1.0.8", body + b"\0")
    refused = run_mgx("tool", "sync", "--frozen", "--no-check", cwd=project_dir)
    assert refused.returncode == 1 and "sha512 mismatch" in refused.stderr
