"""A server sees the same inherited variables under the gateway as under an agent's hub: the
mcp SDK's default set plus mgx's own (marketplace._process.PASSED_ENV: LANG, TMPDIR,
DOTNET_ROOT, …), and never the rest of the user's environment."""

from __future__ import annotations

from dataclasses import replace

import pytest

from runtime.tools import ToolHub
from runtime.toolset_loader import load_toolset
from tests.gateway.conftest import GwProject, result_text, stdio_gateway

GIVEN = {"DOTNET_ROOT": "/opt/dotnet-test", "LANG": "C.UTF-8", "MGX_TEST_UNRELATED": "x"}
SEEN = {"DOTNET_ROOT": "/opt/dotnet-test", "LANG": "C.UTF-8", "MGX_TEST_UNRELATED": "<unset>"}


async def test_a_server_under_the_gateway_inherits_only_the_passed_variables(
    gw_project: GwProject,
) -> None:
    project = replace(gw_project, env={**gw_project.env, **GIVEN})
    async with stdio_gateway(project, "tool", "serve", "-t", "work") as c:
        seen = {k: result_text(await c.call_tool("alpha__getenv", {"name": k})) for k in GIVEN}
    assert seen == SEEN


async def test_a_server_under_an_agents_hub_inherits_the_same(
    gw_project: GwProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in GIVEN.items():
        monkeypatch.setenv(name, value)
    specs = load_toolset(gw_project.settings, gw_project.root, "work")
    alpha = [s for s in specs if s.name == "alpha"]
    async with ToolHub(alpha) as hub:
        exposed = next(t.name for t in hub.tools() if t.tool == "getenv")
        seen = {k: (await hub.call(exposed, {"name": k})).text for k in GIVEN}
    assert seen == SEEN
