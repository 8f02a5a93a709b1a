"""How ``mgx tool serve`` forwards calls on stdio: results passed through as the server sent
them, errors of every kind, concurrent calls answered out of order, cancellation and progress,
and the JSON-RPC edges (bad lines, unknown methods) an SDK client never sends."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from tests.gateway.conftest import GwProject, raw_gateway, result_text, stdio_gateway
from tests.gateway.gw_server import PNG


def _text(answer: dict[str, Any]) -> str:
    return "\n".join(b.get("text", "") for b in answer["result"]["content"])


async def test_results_pass_through_unchanged(gw_project: GwProject) -> None:
    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work") as c:
        rich = await c.call_tool("alpha__rich", {})
        image, text = rich.content
        assert image.type == "image" and image.mime_type == "image/png"
        assert base64.b64decode(image.data) == PNG  # not flattened to a note about an image
        assert text.type == "text" and text.text == "a pixel"
        numbers = await c.call_tool("beta__numbers", {})
        assert numbers.structured_content == {"one": 1, "two": 2}
        size = 3_000_000  # one JSON-RPC line of ~3 MB each way
        big = await c.call_tool("alpha__big", {"size": size})
        assert result_text(big) == ("abcdefghijklmnopqrstuvwxyz" * (size // 26 + 1))[:size]


async def test_tool_errors_and_rpc_errors_are_error_results(gw_project: GwProject) -> None:
    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work") as c:
        failed = await c.call_tool("alpha__fail", {"message": "no such file: x.txt"})
        assert failed.is_error and "no such file: x.txt" in result_text(failed)
        refused = await c.call_tool("alpha__rpc_error", {"message": "rpc-refusal-17"})
        assert refused.is_error and result_text(refused) == "Tool error: rpc-refusal-17"
        bad_args = await c.call_tool("alpha__add", {"a": "not a number", "b": 1})
        assert bad_args.is_error  # the server's own validation, forwarded
        assert result_text(await c.call_tool("alpha__add", {"a": 1, "b": 1})) == "2"
    lines = [json.loads(x) for x in (gw_project.state / "audit.jsonl").read_text().splitlines()]
    assert [(e["tool"], e["ok"]) for e in lines] == [
        ("alpha__fail", False),
        ("alpha__rpc_error", False),
        ("alpha__add", False),
        ("alpha__add", True),
    ]
    assert lines[1]["error"] == "Tool error: rpc-refusal-17"


async def test_concurrent_calls_are_answered_out_of_order(gw_project: GwProject) -> None:
    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work") as c:
        keys = [f"k{i}" for i in range(12)]
        waiting = [
            asyncio.create_task(c.call_tool(f"{s}__wait_gate", {"key": k, "text": f"{s}-{k}"}))
            for k in keys
            for s in ("alpha", "beta")
        ]
        echoes = [c.call_tool("beta__echo", {"text": f"e{i}"}) for i in range(20)]
        assert [result_text(r) for r in await asyncio.gather(*echoes)] == [
            f"e{i}" for i in range(20)
        ]
        for key in reversed(keys):  # the gates open last-first: answers come back reversed
            for server in ("alpha", "beta"):
                assert result_text(await c.call_tool(f"{server}__release", {"key": key})) == key
        results = await asyncio.gather(*waiting)
        assert [result_text(r) for r in results] == [
            f"{s}-{k}" for k in keys for s in ("alpha", "beta")
        ]


async def test_raw_ids_are_kept_and_answers_routed(gw_project: GwProject) -> None:
    async with raw_gateway(gw_project, "tool", "serve", "-t", "work") as gw:
        ids: list[Any] = ["first", 2, "3", 40]
        for n, ident in enumerate(ids):
            await gw.send(
                {
                    "jsonrpc": "2.0",
                    "id": ident,
                    "method": "tools/call",
                    "params": {
                        "name": "alpha__wait_gate",
                        "arguments": {"key": f"g{n}", "text": f"t{n}"},
                    },
                }
            )
        busy = await gw.request(
            2, "tools/call", {"name": "alpha__echo", "arguments": {"text": "x"}}
        )
        assert busy["error"]["code"] == -32600  # id 2 is still in flight
        for n in reversed(range(len(ids))):
            assert _text(await gw.call(f"r{n}", "alpha__release", key=f"g{n}")) == f"g{n}"
            answer = await gw.answer(ids[n])
            assert _text(answer) == f"t{n}" and answer["id"] == ids[n]


async def test_cancelled_call_reaches_the_server_and_gets_no_answer(
    gw_project: GwProject,
) -> None:
    async with raw_gateway(gw_project, "tool", "serve", "-t", "work") as gw:
        await gw.send(
            {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "beta__block"}}
        )
        assert _text(await gw.call(8, "beta__block_started")) == "started"
        await gw.send(
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}}
        )
        assert _text(await gw.call(9, "beta__cancelled_seen")) == "cancelled"
        assert (await gw.request(10, "ping")) == {"jsonrpc": "2.0", "id": 10, "result": {}}
        assert all(m.get("id") != 7 for m in gw.unclaimed)  # a cancelled request is not answered
    audit = [json.loads(x) for x in (gw_project.state / "audit.jsonl").read_text().splitlines()]
    block = next(e for e in audit if e["tool"] == "beta__block")
    assert block["ok"] is False and block["error"] == "cancelled"


async def test_progress_notifications_are_relayed(gw_project: GwProject) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work") as c:
        done = await c.call_tool("alpha__progress", {"steps": 3}, progress_callback=on_progress)
        assert result_text(done) == "done"
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


async def test_crash_fails_every_call_in_flight_then_restarts(gw_project: GwProject) -> None:
    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work") as c:
        first = int(result_text(await c.call_tool("alpha__pid", {})))
        waiting = asyncio.create_task(c.call_tool("alpha__wait_gate", {"key": "k", "text": "t"}))
        crashed = await c.call_tool("alpha__crash", {})
        assert crashed.is_error and "crashed" in result_text(crashed)
        stranded = await waiting
        assert stranded.is_error and "crashed" in result_text(stranded)
        again = int(result_text(await c.call_tool("alpha__pid", {})))
        assert again != first


async def test_call_timeout_cancels_and_keeps_a_responsive_server(gw_project: GwProject) -> None:
    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work", "--call-timeout", "1") as c:
        first = result_text(await c.call_tool("alpha__pid", {}))
        hung = await c.call_tool("alpha__block", {})
        assert hung.is_error and "did not finish within 1s" in result_text(hung)
        assert result_text(await c.call_tool("alpha__cancelled_seen", {})) == "cancelled"
        assert result_text(await c.call_tool("alpha__pid", {})) == first  # it answered a ping


async def test_a_hung_server_is_restarted(gw_project: GwProject) -> None:
    async with stdio_gateway(gw_project, "tool", "serve", "-t", "work", "--call-timeout", "1") as c:
        first = result_text(await c.call_tool("alpha__pid", {}))
        hung = await c.call_tool("alpha__freeze", {})
        assert hung.is_error and "did not finish within 1s" in result_text(hung)
        # The next call waits for the check (no answer to a ping either) and the restart.
        again = await c.call_tool("alpha__pid", {})
        assert not again.is_error and result_text(again) != first


async def test_protocol_edges(gw_project: GwProject) -> None:
    async with raw_gateway(gw_project, "tool", "serve", "-t", "work") as gw:
        again = await gw.request(
            1, "initialize", {**_init("1999-01-01"), "clientInfo": {"name": "n", "version": "2"}}
        )
        assert again["result"]["protocolVersion"] == "2025-11-25"  # the newest handshake one
        assert again["result"]["serverInfo"]["name"] == "mgx-gateway"
        assert "tools" in again["result"]["capabilities"]
        older = await gw.request(2, "initialize", _init("2024-11-05"))
        assert older["result"]["protocolVersion"] == "2024-11-05"
        assert (await gw.request(3, "server/discover", {}))["error"]["code"] == -32601
        assert (await gw.request(4, "resources/list"))["error"]["code"] == -32601
        await gw.send_line(b"{not json")
        parse = await gw.receive()
        assert parse["error"]["code"] == -32700 and parse["id"] is None
        await gw.send([{"jsonrpc": "2.0", "id": 5, "method": "ping"}])
        assert (await gw.receive())["error"]["code"] == -32600
        no_name = await gw.request(6, "tools/call", {"arguments": {}})
        assert no_name["error"]["code"] == -32602
        bad_args = await gw.request(7, "tools/call", {"name": "alpha__echo", "arguments": [1]})
        assert bad_args["error"]["code"] == -32602
        await gw.send({"jsonrpc": "2.0", "id": 99, "result": {}})  # an answer nobody asked for
        assert (await gw.request("p", "ping")) == {"jsonrpc": "2.0", "id": "p", "result": {}}
        listed = await gw.request(8, "tools/list", {})
        assert "alpha__echo" in {t["name"] for t in listed["result"]["tools"]}
        assert _text(await gw.call(9, "alpha__echo", text="fine")) == "fine"
        assert not gw.unclaimed


def _init(version: str) -> dict[str, Any]:
    return {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    }


def test_requests_from_a_file_are_answered_before_exit(gw_project: GwProject) -> None:
    # stdin and stdout regular files (not pipes): read on a thread, written directly; stdin
    # ends right after the call, which is still answered before the gateway stops.
    import subprocess

    from tests.gateway.conftest import MGX

    requests = gw_project.root / "requests.jsonl"
    answers = gw_project.root / "answers.jsonl"
    lines: list[dict[str, Any]] = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": _init("2025-06-18")},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "alpha__add", "arguments": {"a": 20, "b": 22}},
        },
    ]
    requests.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with requests.open("rb") as stdin, answers.open("wb") as stdout:
        done = subprocess.run(
            [*MGX, "tool", "serve", "-t", "work"],
            cwd=gw_project.root,
            env=gw_project.env,
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    got = [json.loads(line) for line in answers.read_text().splitlines()]
    assert [m["id"] for m in got] == [1, 2]
    assert got[1]["result"]["content"] == [{"type": "text", "text": "42"}]
