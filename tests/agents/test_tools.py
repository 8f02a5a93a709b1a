"""ToolHub against real MCP servers (the tests' own, over stdio and streamable HTTP)."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from runtime.errors import ToolError
from runtime.tools import ServerSpec, ToolFilter, ToolHub
from tests.helpers import alive, wait_dead

from .conftest import demo_spec


async def _pid(hub: ToolHub, name: str = "demo__pid") -> int:
    outcome = await hub.call(name, {})
    assert not outcome.is_error, outcome.text
    return int(outcome.text)


async def test_lists_tools_and_calls_them(tmp_path):
    async with ToolHub([demo_spec()], log_dir=tmp_path) as hub:
        names = [t.name for t in hub.tools()]
        assert names == sorted(names)
        assert {"demo__add", "demo__echo", "demo__crash", "demo__pid"} <= set(names)
        add = await hub.call("demo__add", {"a": 2, "b": 40})
        assert (add.text, add.is_error, add.structured) == ("42", False, {"result": 42})
        pic = await hub.call("demo__picture", {})
        assert pic.text.startswith("a picture\n[image content: image/png")
        assert "base64" not in pic.text and "iVBOR" not in pic.text
        fail = await hub.call("demo__fail", {"message": "boom"})
        assert fail.is_error and fail.text.startswith("Tool error:")
        bad_args = await hub.call("demo__add", {"a": "not a number"})
        assert bad_args.is_error
        unknown = await hub.call("nope__x", {})
        assert unknown.is_error and "demo__add" in unknown.text
        assert hub.active == ["demo"] and hub.failed == {}
        (status,) = hub.status()
        assert (status.state, status.tools, status.restarts) == ("active", len(names), 0)
    assert hub.status()[0].state == "stopped"


async def test_openai_tool_shape_and_copies():
    async with ToolHub([demo_spec()]) as hub:
        tools = hub.openai_tools()
        add = next(t for t in tools if t["function"]["name"] == "demo__add")
        assert add["type"] == "function"
        assert add["function"]["description"] == "Add two integers."
        assert add["function"]["parameters"]["type"] == "object"
        assert set(add["function"]["parameters"]["required"]) == {"a", "b"}
        # Mutating what we got back must not corrupt the hub's cache.
        add["function"]["parameters"]["properties"].clear()
        hub.tools()[0].input_schema.clear()
        again = next(t for t in hub.openai_tools() if t["function"]["name"] == "demo__add")
        assert set(again["function"]["parameters"]["properties"]) == {"a", "b"}
        assert hub.tools()[0].input_schema
        assert hub.openai_tools() == hub.openai_tools()  # stable: same prefix every request


async def test_filters_allow_deny_predicate():
    async with ToolHub([demo_spec(), demo_spec("other")]) as hub:

        def names(f: ToolFilter) -> set[str]:
            return {t.name for t in hub.tools(f)}

        assert names(ToolFilter(allow=("demo__*",))) == {
            t.name for t in hub.tools() if t.server == "demo"
        }
        assert names(ToolFilter(allow=("*/add",))) == {"demo__add", "other__add"}
        assert names(ToolFilter(allow=("*add", "*echo"), deny=("other__*",))) == {
            "demo__add",
            "demo__echo",
        }
        assert "demo__crash" not in names(ToolFilter(deny=("*crash*",)))
        only_echo = ToolFilter(predicate=lambda t: t.tool == "echo")
        assert names(only_echo) == {"demo__echo", "other__echo"}

        def raising(tool):
            if tool.tool == "add":
                raise ValueError("filter bug")
            return True

        kept = names(ToolFilter(predicate=raising))
        assert "demo__add" not in kept and "other__add" not in kept and "demo__echo" in kept
        # A tool hidden from an agent cannot be called by it either.
        hidden = await hub.call("demo__add", {"a": 1, "b": 1}, allowed={"demo__echo"})
        assert hidden.is_error and "no tool named 'demo__add'" in hidden.text
        assert "demo__echo" in hidden.text


async def test_crashed_server_gives_tool_error_and_restarts_once(tmp_path):
    async with ToolHub([demo_spec(), demo_spec("other")], log_dir=tmp_path) as hub:
        first = await _pid(hub)
        crash = await hub.call("demo__crash", {})
        assert crash.is_error
        assert "crashed" in crash.text and "restarted" in crash.text
        second = await _pid(hub)  # waits for the restart, then answers from the new process
        assert second != first
        assert wait_dead([first]) == []
        assert hub.status()[0].restarts == 1 and hub.active == ["demo", "other"]
        assert (await hub.call("demo__add", {"a": 1, "b": 2})).text == "3"
        # The budget is one restart: a second crash leaves the server failed ...
        again = await hub.call("demo__crash", {})
        assert again.is_error and "will not be restarted" in again.text
        down = await hub.call("demo__echo", {"text": "x"})
        assert down.is_error and "not running" in down.text
        assert set(hub.failed) == {"demo"}
        # ... and the other server carries on.
        assert (await hub.call("other__echo", {"text": "still here"})).text == "still here"
        other_pid = await _pid(hub, "other__pid")
    assert wait_dead([first, second, other_pid]) == []


async def test_slow_call_times_out_without_restart():
    async with ToolHub([demo_spec()], call_timeout=1.0) as hub:
        before = await _pid(hub)
        slow = await hub.call("demo__slow", {"seconds": 30})
        assert slow.is_error and "did not finish within 1s" in slow.text
        assert await _pid(hub) == before  # it answered the probe: no restart
        assert hub.status()[0].restarts == 0
        # A per-call timeout overrides the hub's default.
        ok = await hub.call("demo__slow", {"seconds": 1.5}, timeout=20)
        assert ok.text == "slept 1.5"


async def test_hung_server_gives_tool_error_and_is_restarted():
    async with ToolHub([demo_spec()], call_timeout=2.0) as hub:
        before = await _pid(hub)
        hang = await hub.call("demo__hang", {})
        assert hang.is_error and "did not finish within 2s" in hang.text
        # The answer comes at the timeout; the probe of the hung server (which used to add
        # up to another timeout, so 2 s took 4 s) runs in the background.
        assert hang.duration_s < 3.5
        after = await _pid(hub)  # waits for the probe and the restart
        assert after != before
        assert hub.status()[0].restarts == 1
    assert wait_dead([before, after]) == []


async def test_concurrent_calls_on_one_server():
    async with ToolHub([demo_spec()]) as hub:
        outcomes = await asyncio.gather(
            *(hub.call("demo__slow", {"seconds": 1.0}) for _ in range(5))
        )
        assert [o.text for o in outcomes] == ["slept 1.0"] * 5
        # Five 1 s sleeps finished together, not one after another.
        assert max(o.duration_s for o in outcomes) < 4.5


async def test_servers_start_in_parallel(tmp_path):
    marker = tmp_path / "starts"
    delay = 2.0
    specs = [
        demo_spec(f"s{i}", "--marker", str(marker), "--startup-delay", str(delay)) for i in range(3)
    ]
    async with ToolHub(specs) as hub:
        assert sorted(hub.active) == ["s0", "s1", "s2"]
    starts = sorted(float(line.split()[1]) for line in marker.read_text().splitlines())
    # Started one after another, the last would start >= 2 delays after the first.
    assert starts[-1] - starts[0] < delay


async def test_startup_failure_is_clear_and_stops_the_others(tmp_path):
    marker = tmp_path / "starts"
    good = demo_spec("good", "--marker", str(marker))
    bad = demo_spec("bad", "--fail-start")
    with pytest.raises(ToolError) as info:
        async with ToolHub([good, bad], log_dir=tmp_path / "logs", startup_timeout=30):
            pytest.fail("entered a hub whose server failed")
    message = str(info.value)
    assert "'bad'" in message and "refusing to start" in message
    good_pid = int(marker.read_text().split()[0])
    assert wait_dead([good_pid]) == []


async def test_startup_failure_tolerated_when_not_required(tmp_path):
    missing = ServerSpec(name="missing", command=(str(tmp_path / "no-such-binary"),))
    async with ToolHub([demo_spec(), missing], require_all=False) as hub:
        assert hub.active == ["demo"]
        assert set(hub.failed) == {"missing"}
        assert all(t.server == "demo" for t in hub.tools())
        states = {s.name: s.state for s in hub.status()}
        assert states == {"demo": "active", "missing": "failed"}
        assert (await hub.call("demo__echo", {"text": "ok"})).text == "ok"


async def test_startup_timeout(tmp_path):
    slow = demo_spec("sleepy", "--startup-delay", "60")
    with pytest.raises(ToolError, match="did not finish starting within 2s"):
        async with ToolHub([slow], startup_timeout=2):
            pass


async def test_env_is_passed_to_the_server():
    spec = demo_spec(env={"DEMO_SECRET": "s3cret"})
    assert "s3cret" not in repr(spec)  # never in reprs (and so never in logs)
    async with ToolHub([spec]) as hub:
        assert (await hub.call("demo__env", {"key": "DEMO_SECRET"})).text == "s3cret"


async def test_no_orphan_processes_after_shutdown():
    specs = [demo_spec(f"p{i}") for i in range(3)]
    async with ToolHub(specs) as hub:
        pids = [await _pid(hub, f"p{i}__pid") for i in range(3)]
        assert all(alive(p) for p in pids)
        await hub.call("p0__crash", {})
        pids.append(await _pid(hub, "p0__pid"))  # the restarted one
    assert wait_dead(pids) == []


async def test_shutdown_when_cancelled():
    started = asyncio.Event()
    pids: list[int] = []

    async def use_hub() -> None:
        async with ToolHub([demo_spec()]) as hub:
            pids.append(await _pid(hub))
            started.set()
            await hub.call("demo__slow", {"seconds": 60}, timeout=120)

    task = asyncio.create_task(use_hub())
    await asyncio.wait_for(started.wait(), 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wait_dead(pids) == []


async def test_remote_streamable_http(http_demo):
    spec = ServerSpec(
        name="remote", transport="streamable-http", url=http_demo, headers={"X-Test": "1"}
    )
    async with ToolHub([spec, demo_spec()]) as hub:
        assert "remote__add" in {t.name for t in hub.tools()}
        assert (await hub.call("remote__add", {"a": 20, "b": 22})).text == "42"
        remote_pid = await _pid(hub, "remote__pid")
        assert remote_pid != os.getpid() and alive(remote_pid)
    assert alive(remote_pid)  # a remote server is not ours to stop


async def test_duplicate_server_names_rejected():
    with pytest.raises(ToolError, match="duplicate server names"):
        ToolHub([demo_spec(), demo_spec()])


async def test_local_http_server_is_started_and_stopped_by_the_hub(tmp_path):
    from tests.helpers import free_port

    from .conftest import DEMO_SERVER

    port = free_port()
    marker = tmp_path / "starts"
    spec = ServerSpec(
        name="web",
        transport="streamable-http",
        command=(
            sys.executable,
            str(DEMO_SERVER),
            "--name",
            "web",
            "--http",
            str(port),
            "--marker",
            str(marker),
        ),
        url=f"http://127.0.0.1:{port}/mcp",
    )
    async with ToolHub([spec], log_dir=tmp_path / "logs") as hub:
        assert (await hub.call("web__add", {"a": 1, "b": 2})).text == "3"
        pid = await _pid(hub, "web__pid")
        assert pid == int(marker.read_text().split()[0])
    assert wait_dead([pid]) == []


async def test_local_http_server_that_exits_before_listening(tmp_path):
    from tests.helpers import free_port

    from .conftest import DEMO_SERVER

    port = free_port()
    spec = ServerSpec(
        name="web",
        transport="streamable-http",
        command=(sys.executable, str(DEMO_SERVER), "--fail-start", "--http", str(port)),
        url=f"http://127.0.0.1:{port}/mcp",
    )
    with pytest.raises(ToolError) as info:
        async with ToolHub([spec], log_dir=tmp_path / "logs", startup_timeout=30):
            pytest.fail("entered a hub whose server failed")
    message = str(info.value)
    assert message.startswith("server 'web' exited with status 2 before listening")
    assert "refusing to start" in message  # the last line of its log
    assert "refusing to start" in (tmp_path / "logs" / "web.log").read_text()
