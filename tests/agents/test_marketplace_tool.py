"""An agent calls a real marketplace tool: ``mcp-server-time`` from PyPI, resolved, verified
and installed by the marketplace into a temporary MGX_HOME, locked in a project's mgx.lock,
and started from that lock by ``mgx agent --toolset``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketplace._fs import atomic_write
from marketplace.installers import install_package, resolve_package
from marketplace.invocation import store_server_json
from marketplace.lockfile import LockedTool, Lockfile, dumps
from marketplace.settings import Settings
from registry_cache.serverjson import parse_server
from runtime.cli import main
from runtime.toolset_loader import load_toolset
from tests.scripted_llm import Reply, ScriptedLLM, call

pytestmark = pytest.mark.network

NAME = "io.github.modelcontextprotocol/time"


def time_server():
    return parse_server(
        {
            "name": NAME,
            "description": "Time and timezone conversion",
            "version": "2025.9.25",
            "packages": [
                {
                    "registryType": "pypi",
                    "identifier": "mcp-server-time",
                    "version": "2025.9.25",
                    "transport": {"type": "stdio"},
                    "packageArguments": [
                        {
                            "type": "named",
                            "name": "--local-timezone",
                            "value": "{tz}",
                            "variables": {"tz": {"default": "UTC"}},
                        }
                    ],
                }
            ],
        }
    )


def locked_project(root: Path, settings: Settings) -> Path:
    """Resolve and install mcp-server-time for real, then lock it in tool set ``clock``."""
    server = time_server()
    package = resolve_package(server, server.packages[0], settings=settings)
    install_package(package, settings=settings)
    root.mkdir(parents=True)
    (root / "mgx.toml").write_text(
        f'[tools]\n"{NAME}" = {{ version = "2025.9.25", args = {{ tz = "Asia/Tokyo" }} }}\n\n'
        f'[toolsets.clock]\ntools = ["{NAME}"]\n'
    )
    tool = LockedTool(
        name=NAME,
        version="2025.9.25",
        registry="",
        package=package,
        args={"tz": "Asia/Tokyo"},
        server_json=store_server_json(settings, server.raw),  # for the invocation rule
    )
    atomic_write(
        root / "mgx.lock", dumps(Lockfile(tools={NAME: tool}, toolsets={"clock": (NAME,)}))
    )
    return root


def test_agent_calls_an_installed_marketplace_tool(mgx_home, tmp_path, capsys):
    settings = Settings.from_env({"MGX_HOME": str(mgx_home)})
    root = locked_project(tmp_path / "proj", settings)
    (spec,) = load_toolset(settings, root, "clock")
    assert spec.name == "time"
    assert spec.command[0].startswith(str(mgx_home))  # the installed env, not a PATH lookup
    assert spec.command[-2:] == ("--local-timezone", "Asia/Tokyo")

    script = [
        Reply(tool_calls=[call("time__get_current_time", {"timezone": "Europe/Paris"})]),
        Reply(content="It is some time in Paris."),
    ]
    with ScriptedLLM(script) as llm:
        code = main(
            [
                "agent",
                "What time is it in Paris?",
                "--model",
                llm.url,
                "--toolset",
                "clock",
                "--project",
                str(root),
                "--json",
            ]
        )
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["answer"] == "It is some time in Paris."
    assert {"time__get_current_time", "time__convert_time"} <= set(data["tools"])
    (record,) = data["agent"]["steps"][0]["tool_calls"]
    assert not record["is_error"], record["result"]
    payload = json.loads(record["result"])
    assert payload["timezone"] == "Europe/Paris" and "datetime" in payload
    tool_message = llm.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool" and json.loads(tool_message["content"]) == payload
