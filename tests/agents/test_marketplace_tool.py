"""An agent calls a real marketplace tool: ``mcp-server-time`` from PyPI, resolved, verified
and installed by the marketplace into a temporary MGX_HOME, started from its locked invocation.
"""

from __future__ import annotations

import json

import pytest

from marketplace.installers import install_package, resolve_invocation, resolve_package
from marketplace.settings import Settings
from registry_cache.serverjson import parse_server
from runtime.agent import Agent
from runtime.client import ChatClient
from runtime.tools import ToolHub
from runtime.toolset_loader import server_spec
from tests.scripted_llm import Reply, ScriptedLLM, call

pytestmark = pytest.mark.network


def time_server():
    return parse_server(
        {
            "name": "io.github.modelcontextprotocol/time",
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


async def test_agent_calls_an_installed_marketplace_tool(mgx_home, tmp_path):
    settings = Settings.from_env({"MGX_HOME": str(mgx_home)})
    server = time_server()
    lock = resolve_package(server, server.packages[0], settings=settings)
    install_package(lock, settings=settings)
    launch = resolve_invocation(settings, lock, env_bindings={}, arg_values={"tz": "Asia/Tokyo"})
    spec = server_spec("time", launch)
    assert spec.command[0].startswith(str(mgx_home))  # the installed env, not a PATH lookup

    script = [
        Reply(tool_calls=[call("time__get_current_time", {"timezone": "Europe/Paris"})]),
        Reply(content="It is some time in Paris."),
    ]
    with ScriptedLLM(script) as llm:
        async with ToolHub([spec], log_dir=tmp_path) as hub, ChatClient(llm.url, "x") as client:
            names = {t.name for t in hub.tools()}
            assert {"time__get_current_time", "time__convert_time"} <= names
            result = await Agent(client, hub=hub).run("What time is it in Paris?")
            utc = await hub.call("time__get_current_time", {"timezone": "UTC"})
    assert result.final_text == "It is some time in Paris."
    (record,) = result.steps[0].tool_calls
    assert not record.is_error, record.result
    payload = json.loads(record.result)
    assert payload["timezone"] == "Europe/Paris" and "datetime" in payload
    tool_message = llm.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool" and json.loads(tool_message["content"]) == payload
    assert not utc.is_error and json.loads(utc.text)["timezone"] == "UTC"
