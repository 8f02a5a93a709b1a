"""The gateway in front of two real published servers: mcp-server-time (PyPI) and
@modelcontextprotocol/server-everything (npm), installed and locked through mgx's own
registry on loopback, then listed and called through ``mgx tool serve`` by the mcp SDK."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from marketplace import commands
from marketplace.project import find_project
from tests.gateway.conftest import GwProject, result_text, stdio_gateway
from tests.lock.conftest import World, real_everything_doc, real_time_doc

pytestmark = pytest.mark.network


def _publish_real_servers(world: World) -> None:
    world.docs += [real_time_doc(), real_everything_doc()]
    world.serve()


@pytest.fixture
def real_project(world: World, project_dir: Path) -> GwProject:
    """Both servers installed (resolved against PyPI and npm), tool set ``real``."""
    _publish_real_servers(world)
    project = find_project(create=True, settings=world.settings)
    commands.install(project, "mcp-server-time", toolset="real", check_timeout=300)
    commands.install(
        project, "@modelcontextprotocol/server-everything", toolset="real", check_timeout=300
    )
    return GwProject(root=project.root, settings=world.settings, env=dict(os.environ))


async def test_gateway_in_front_of_pypi_and_npm_servers(real_project: GwProject) -> None:
    gw = real_project
    async with stdio_gateway(gw, "tool", "serve", "--toolset", "real") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"server-time__get_current_time", "server-everything__echo"} <= names
        now = await client.call_tool("server-time__get_current_time", {"timezone": "UTC"})
        assert not now.is_error and json.loads(result_text(now))["timezone"] == "UTC"
        echoed = await client.call_tool("server-everything__echo", {"message": "via mgx"})
        assert not echoed.is_error and "via mgx" in result_text(echoed)
    audit = (gw.state / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line)["ok"] for line in audit] == [True, True]


async def test_http_gateway_in_front_of_pypi_and_npm_servers(
    real_project: GwProject, start_http: Any
) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    gateway = start_http(real_project, "--toolset", "real")
    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(120.0)) as http,
        Client(streamable_http_client(gateway.url, http_client=http)) as client,
    ):
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"server-time__convert_time", "server-everything__add"} <= names
        converted = await client.call_tool(
            "server-time__convert_time",
            {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"},
        )
        assert not converted.is_error and "Asia/Tokyo" in result_text(converted)
        added = await client.call_tool("server-everything__add", {"a": 2, "b": 3})
        assert not added.is_error and "5" in result_text(added)
