"""`mgx tool search/info` and `mgx registry …` end to end, as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.registry.conftest import pypi, server_doc

TIME = "io.github.modelcontextprotocol/server-time"


def mgx(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    code = "import sys; from runtime.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_search_json_offline_finds_the_curated_server() -> None:
    result = mgx("tool", "search", "time", "--json", "--offline")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits[0]["name"] == TIME and hits[0]["curated"] is True
    assert hits[0]["types"] == ["pypi"]
    assert "offline" in result.stderr  # the note goes to stderr, JSON stays clean


def test_search_table_and_filters() -> None:
    result = mgx("tool", "search", "fetch", "--offline")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "NAME"
    assert "io.github.modelcontextprotocol/server-fetch" in lines[2]
    assert "[curated]" in lines[2]
    result = mgx("tool", "search", "server", "--type", "npm", "--limit", "3", "--offline")
    rows = result.stdout.splitlines()[2:]
    assert len(rows) == 3 and all(
        row.split("│")[2].strip() == "npm" or "npm" in row.split("│")[2] for row in rows
    )


def test_unreachable_registry_gives_a_note_not_an_error(mgx_home: Path) -> None:
    added = mgx("registry", "add", "official", f"http://127.0.0.1:{_closed_port()}")
    assert added.returncode == 0, added.stderr
    result = mgx("tool", "search", "mcp-server-time", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["name"] == TIME
    assert "registry 'official' unreachable; showing cached data from" in result.stderr
    assert "(bundled snapshot)" in result.stderr


def test_info_text_and_json() -> None:
    text = mgx("tool", "info", "mcp-server-time", "--offline")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(TIME)
    assert "run: uvx mcp-server-time==" in text.stdout
    assert "versions (newest first): " in text.stdout and "(latest)" in text.stdout
    versions = json.loads(mgx("tool", "info", TIME, "--json", "--offline").stdout)["versions"]
    older = versions[-1]["version"]
    pinned = json.loads(mgx("tool", "info", f"{TIME}@{older}", "--json", "--offline").stdout)
    assert pinned["version"] == older
    assert pinned["packages"][0]["run"].startswith(f"uvx mcp-server-time=={older}")
    airtable = json.loads(
        mgx("tool", "info", "io.github.domdomegg/airtable-mcp-server", "--json", "--offline").stdout
    )
    assert airtable["environmentVariables"][0]["name"] == "AIRTABLE_API_KEY"
    assert airtable["environmentVariables"][0]["secret"] is True
    assert {p["registryType"] for p in airtable["packages"]} == {"npm", "oci", "mcpb"}


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (("tool", "info", "does/not-exist", "--offline"), "no server named 'does/not-exist'", 2),
        (("tool", "info", f"{TIME}@0.0.0", "--offline"), "has no version '0.0.0'", 2),
        (("tool", "search", "x", "--type", "rpm", "--offline"), "unknown package type 'rpm'", 2),
        (("registry", "sync", "nope"), "no enabled registry named 'nope'", 2),
        (("registry", "add", "Bad Name", "https://x.example"), "invalid registry name", 2),
    ],
)
def test_errors_are_one_line_and_nonzero(args: tuple[str, ...], message: str, code: int) -> None:
    result = mgx(*args)
    assert result.returncode == code
    assert result.stderr.startswith("mgx: error: ") and message in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("mgx: error")]) == 1


def test_search_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from runtime.cli import main; "
        "rc = main(['tool', 'search', 'time', '--offline', '--json']); "
        "heavy = [m for m in ('httpx', 'sigstore', 'mcp', 'vllm', 'torch', 'tomlkit') "
        "if m in sys.modules]; print(heavy, file=sys.stderr); sys.exit(1 if heavy else rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_registry_commands_end_to_end(serve_docs: Callable[..., str]) -> None:
    url = serve_docs([server_doc("io.github.team/internal-tool", packages=[pypi("internal-tool")])])
    assert mgx("registry", "add", "team", url, "--token-env", "TEAM_TOKEN").returncode == 0
    synced = mgx("registry", "sync", "team", "--json", env={"TEAM_TOKEN": "tok-123"})
    assert synced.returncode == 0, synced.stderr
    (summary,) = json.loads(synced.stdout)
    assert summary["full"] and summary["servers"] == 1
    listed = json.loads(mgx("registry", "list", "--json").stdout)
    team = next(r for r in listed if r["name"] == "team")
    assert team["versions"] == 1 and team["source"] == "live" and team["tokenEnv"] == "TEAM_TOKEN"
    found = json.loads(mgx("tool", "search", "internal", "--registry", "team", "--json").stdout)
    assert [h["name"] for h in found] == ["io.github.team/internal-tool"]
    assert mgx("registry", "remove", "team").returncode == 0
    assert [r["name"] for r in json.loads(mgx("registry", "list", "--json").stdout)] == ["official"]


def test_registry_serve_subprocess() -> None:
    code = "import sys; from runtime.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "registry", "serve", "--port", "0", "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline() if proc.stderr else ""
        assert "serving registry 'official'" in line, line
        url = line.split(" at ")[1].split()[0]
        body = httpx.get(f"{url}/v0.1/servers", params={"search": "server-fetch"}, timeout=30)
        assert body.status_code == 200
        assert body.json()["servers"][0]["server"]["packages"][0]["identifier"] == (
            "mcp-server-fetch"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()
