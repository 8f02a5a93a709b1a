"""mgx.lock + mgx.toml -> running tools, through ``mgx agent --toolset`` (no network: the
locked tool is a remote, the tests' demo MCP server over streamable HTTP on loopback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketplace._fs import atomic_write
from marketplace.errors import ConfigError
from marketplace.installers import remote
from marketplace.invocation import store_server_json
from marketplace.lockfile import LockedTool, Lockfile, dumps
from marketplace.settings import Settings
from registry_cache.serverjson import parse_server
from runtime.cli import main
from runtime.toolset_loader import load_toolset, short_names
from tests.scripted_llm import Reply, ScriptedLLM, call

TOOL = "io.github.test/remote-demo"


def write_project(root: Path, url: str) -> Path:
    """A project whose lock pins one remote tool (an API key header bound to $DEMO_KEY)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "mgx.toml").write_text(
        f'[tools]\n"{TOOL}" = {{ version = "1.0.0", type = "remote", '
        'env = { "X-Api-Key" = { env = "DEMO_KEY" } } }\n\n'
        f'[toolsets.research]\ntools = ["{TOOL}"]\n'
    )
    # The server.json the lock was resolved from: the invocation rule re-derives the lock's
    # invocation from it (marketplace.invocation), so it is stored like a real resolution does.
    server = parse_server(
        {
            "name": TOOL,
            "description": "A remote demo server.",
            "version": "1.0.0",
            "remotes": [
                {
                    "type": "streamable-http",
                    "url": url,
                    "headers": [{"name": "X-Api-Key", "isRequired": True, "isSecret": True}],
                }
            ],
        }
    )
    package = remote.resolve(server, server.remotes[0])
    settings = Settings.from_env()
    tool = LockedTool(
        server_json=store_server_json(settings, server.raw),
        name=TOOL,
        version="1.0.0",
        registry="",
        package=package,
        env={"X-Api-Key": "DEMO_KEY"},
        type="remote",
    )
    lock = Lockfile(tools={TOOL: tool}, toolsets={"research": (TOOL,)})
    atomic_write(root / "mgx.lock", dumps(lock))
    return root


def test_short_names():
    assert short_names(["io.a/time", "io.b/fs", "io.c/fs"]) == {
        "io.a/time": "time",
        "io.b/fs": "io.b/fs",
        "io.c/fs": "io.c/fs",
    }


def test_load_toolset_reads_the_lock_and_bindings(tmp_path, http_demo, mgx_home):
    root = write_project(tmp_path / "proj", http_demo)
    settings = Settings.from_env({"MGX_HOME": str(mgx_home)})
    (spec,) = load_toolset(settings, root, "research", environ={"DEMO_KEY": "k-123"})
    assert (spec.name, spec.transport, spec.url) == ("remote-demo", "streamable-http", http_demo)
    assert spec.headers == {"X-Api-Key": "k-123"}
    assert "k-123" not in repr(spec)
    with pytest.raises(ConfigError, match="no tool set 'nope'"):
        load_toolset(settings, root, "nope", environ={"DEMO_KEY": "x"})
    # The missing value is named by the variable it is bound to (what the user must set).
    missing = r"required value\(s\) not set: DEMO_KEY \(bound to X-Api-Key, header\)"
    with pytest.raises(ConfigError, match=missing):
        load_toolset(settings, root, "research", environ={})


def test_mgx_agent_with_a_locked_toolset(tmp_path, http_demo, monkeypatch, capsys):
    root = write_project(tmp_path / "proj", http_demo)
    monkeypatch.setenv("DEMO_KEY", "k-123")
    script = [
        Reply(tool_calls=[call("remote-demo__add", {"a": 20, "b": 22})]),
        Reply(content="20 + 22 = 42"),
    ]
    with ScriptedLLM(script) as llm:
        code = main(
            [
                "agent",
                "add them",
                "--model",
                llm.url,
                "--toolset",
                "research",
                "--project",
                str(root),
                "--json",
            ]
        )
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["answer"] == "20 + 22 = 42"
    assert data["tools"] == [
        "remote-demo__add",
        "remote-demo__crash",
        "remote-demo__echo",
        "remote-demo__env",
        "remote-demo__fail",
        "remote-demo__hang",
        "remote-demo__picture",
        "remote-demo__pid",
        "remote-demo__slow",
    ]
    (record,) = data["agent"]["steps"][0]["tool_calls"]
    assert (record["name"], record["result"], record["is_error"]) == (
        "remote-demo__add",
        "42",
        False,
    )
    assert data["servers"][0]["state"] == "active"
    assert data["usage"]["tool_calls"] == 1


def test_missing_env_binding_fails_before_anything_starts(tmp_path, http_demo, monkeypatch, capsys):
    root = write_project(tmp_path / "proj", http_demo)
    monkeypatch.delenv("DEMO_KEY", raising=False)
    with ScriptedLLM([Reply(content="never")]) as llm:
        code = main(
            ["agent", "t", "--model", llm.url, "--toolset", "research", "--project", str(root)]
        )
        assert llm.requests == []
    _, err = capsys.readouterr()
    assert code != 0
    assert err.startswith("mgx: error: ") and "X-Api-Key" in err
    assert len(err.strip().splitlines()) == 1


def test_no_project_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MGX_PROJECT", raising=False)
    with ScriptedLLM([Reply(content="never")]) as llm:
        code = main(["agent", "t", "--model", llm.url, "--toolset", "research"])
    _, err = capsys.readouterr()
    assert code != 0 and "no mgx.toml" in err
