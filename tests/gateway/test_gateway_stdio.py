"""``mgx tool serve`` and ``mgx tool run`` over stdio, driven by the mcp SDK's client."""

from __future__ import annotations

import json
import shutil

from tests.gateway.conftest import SECRET, SERVER_TOOLS, GwProject, result_text, stdio_gateway


async def test_lists_and_calls_namespaced_tools_denied_tool_absent(gw_project: GwProject) -> None:
    async with stdio_gateway(gw_project, "tool", "serve", "--toolset", "work", "--log-args") as c:
        names = sorted(t.name for t in (await c.list_tools()).tools)
        assert names == sorted(
            [f"{server}__{tool}" for server in ("alpha", "beta") for tool in SERVER_TOOLS]
            + ["beta__secret_length"]
        )  # *delete* is denied in mgx.toml, on both servers
        added = await c.call_tool("alpha__add", {"a": 2, "b": 40})
        assert not added.is_error and result_text(added) == "42"
        length = await c.call_tool("beta__secret_length", {})
        assert result_text(length) == str(len(SECRET))  # the bound secret reached the server
        echoed = await c.call_tool("beta__echo", {"text": f"token={SECRET}"})
        assert result_text(echoed) == f"token={SECRET}"
        denied = await c.call_tool("alpha__delete_everything", {})
        assert denied.is_error and "no tool named" in result_text(denied)

    lines = [
        json.loads(line) for line in (gw_project.state / "audit.jsonl").read_text().splitlines()
    ]
    assert [(e["tool"], e["ok"]) for e in lines] == [
        ("alpha__add", True),
        ("beta__secret_length", True),
        ("beta__echo", True),
        ("alpha__delete_everything", False),
    ]
    assert lines[0]["server"] == "alpha" and lines[0]["arguments"] == {"a": 2, "b": 40}
    assert lines[0]["client"].startswith("mcp")  # the SDK client's own name
    assert lines[2]["arguments"] == {"text": "token=[redacted]"}
    assert all(e["duration_ms"] >= 0 and e["time"].endswith("Z") for e in lines)
    for path in gw_project.settings.state_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


async def test_gateway_calls_are_counted_in_local_usage(gw_project: GwProject) -> None:
    from marketplace.usage import UsageStore

    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work") as c:
        for _ in range(3):
            assert result_text(await c.call_tool("alpha__add", {"a": 1, "b": 2})) == "3"
        assert result_text(await c.call_tool("beta__echo", {"text": "hi"})) == "hi"
    rows = {(r.server, r.tool): r for r in UsageStore.for_settings(gw_project.settings).summary()}
    assert rows[("alpha", "add")].calls == 3 and rows[("alpha", "add")].errors == 0
    assert rows[("beta", "echo")].calls == 1


async def test_crashed_server_is_restarted_once(gw_project: GwProject) -> None:
    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work") as c:
        first = int(result_text(await c.call_tool("alpha__pid", {})))
        crashed = await c.call_tool("alpha__crash", {})
        assert crashed.is_error and "crashed" in result_text(crashed)
        again = await c.call_tool("alpha__pid", {})
        assert not again.is_error and int(result_text(again)) != first
        assert result_text(await c.call_tool("beta__echo", {"text": "ok"})) == "ok"
        await c.call_tool("alpha__crash", {})
        gone = await c.call_tool("alpha__echo", {"text": "x"})
        assert gone.is_error and "not running" in result_text(gone)  # restarted once only


async def test_tools_list_is_answered_from_pins_and_recorded_lists(gw_project: GwProject) -> None:
    logs = gw_project.state / "logs"
    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work") as c:
        first = [t.model_dump() for t in (await c.list_tools()).tools]
    # alpha was installed with its check, so its descriptions are pinned and listed from the
    # pins store; beta was installed unchecked (nothing pinned), so it was started to list.
    assert sorted(p.name for p in logs.iterdir()) == ["beta.log"]
    shutil.rmtree(logs)
    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work") as c:
        assert [t.model_dump() for t in (await c.list_tools()).tools] == first
        assert not logs.exists()  # listed without starting a server (beta's list recorded)
        assert result_text(await c.call_tool("beta__echo", {"text": "hi"})) == "hi"
    assert sorted(p.name for p in logs.iterdir()) == ["beta.log"]  # only the one called

    # The pinned list is what alpha lists when it runs: without pins or records, the same.
    shutil.rmtree(gw_project.settings.data_dir / "trust" / "tool-descriptions")
    (gw_project.state / "tools.json").unlink()
    shutil.rmtree(logs)
    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work") as c:
        live = [t.model_dump() for t in (await c.list_tools()).tools]
    assert sorted(p.name for p in logs.iterdir()) == ["alpha.log", "beta.log"]  # both started
    assert live == first


async def test_tool_run_serves_one_tool_under_its_own_names(gw_project: GwProject) -> None:
    # As a client starts it: from anywhere, the project named with -C.
    async with stdio_gateway(gw_project, "tool", "run", "alpha", "-C", str(gw_project.root)) as c:
        names = sorted(t.name for t in (await c.list_tools()).tools)
        assert names == sorted([*SERVER_TOOLS, "delete_everything"])
        assert result_text(await c.call_tool("echo", {"text": "direct"})) == "direct"
    audit = (gw_project.state / "audit.jsonl").read_text()
    assert '"tool": "echo"' in audit and '"arguments"' not in audit  # no --log-args


async def test_policy_require_refuses_an_unverified_tool(gw_project: GwProject) -> None:
    manifest = gw_project.root / "mgx.toml"
    manifest.write_text('[policy]\nverify = "require"\n\n' + manifest.read_text())
    # The bundles verify by their sha256; a lock recording one as unverified must not start.
    lock = gw_project.root / "mgx.lock"
    lock.write_text(lock.read_text().replace('status = "verified"', 'status = "unverified"', 1))
    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work") as c:
        refused = await c.call_tool("alpha__echo", {"text": "x"})
        assert refused.is_error and 'verify = "require"' in result_text(refused)
    # preflight refused alpha before its server started (beta, verified, may have started)
    assert not (gw_project.state / "logs" / "alpha.log").exists()


async def test_changed_tool_descriptions_are_refused_before_any_call(
    gw_project: GwProject,
) -> None:
    from dataclasses import replace

    from marketplace.lockfile import dumps, loads
    from marketplace.tool_pins import ToolPins

    # The lock pins other descriptions for alpha's `echo` than its server now lists (as if the
    # server had changed them since): its start must be refused, with the advice to review
    # (nothing was recorded yet, so listing starts both servers and alpha's tools are absent).
    path = gw_project.root / "mgx.lock"
    lock = loads(path.read_text())
    name = next(n for n in lock.tools if n.endswith("/alpha"))
    pins = lock.tools[name].tool_pins
    assert pins is not None
    changed = ToolPins(
        digest="sha256:" + "0" * 64, tools={**pins.tools, "echo": "sha256:" + "1" * 64}
    )
    path.write_text(dumps(lock.with_tool(replace(lock.tools[name], tool_pins=changed))))
    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work") as c:
        refused = await c.call_tool("alpha__echo", {"text": "x"})
        text = result_text(refused)
        assert refused.is_error and "tool descriptions changed" in text
        assert "changed tool 'echo'" in text and "server 'alpha' refused" in text
        assert f"mgx tool trust {name}" in text
        assert result_text(await c.call_tool("beta__echo", {"text": "ok"})) == "ok"


def test_stdio_gateway_loads_neither_the_mcp_sdk_nor_typer(gw_project: GwProject) -> None:
    """The stdio path (start, list, a call) stays plain JSON-RPC: its start and per-call
    figures depend on not importing the SDK's pydantic models or the CLI framework."""
    import subprocess

    from tests.lock.conftest import MGX

    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "beta__echo", "arguments": {"text": "plain"}},
        },
    ]
    done = subprocess.run(
        [*MGX, "tool", "serve", "-t", "work"],
        input="".join(json.dumps(m) + "\n" for m in messages),
        env={**gw_project.env, "PYTHONPROFILEIMPORTTIME": "1"},
        cwd=gw_project.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["id"] for a in answers] == [1, 2, 3], done.stderr[-2000:]
    assert answers[2]["result"]["content"][0]["text"] == "plain"
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "runtime" in imported  # the measurement sees mgx's own modules
    assert not imported & {"mcp", "pydantic", "typer", "anyio"}
