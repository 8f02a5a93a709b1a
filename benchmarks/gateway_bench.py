"""Gateway benchmarks: ``mgx tool serve`` against a direct MCP session to the same server.

Everything runs on this machine, through mgx's real install path: small mcp-SDK servers
(``tests/gateway/gw_server.py``) are packed as mcpb bundles, published by mgx's own registry on
loopback (the lock tests' ``World``), installed and locked into a temporary project.

1. Overhead per tool call: ``echo`` through the gateway minus the same call on a direct
   stdio session to the same server, calls interleaved one by one, medians; target <= 1 ms.
   The direct session is measured twice: with the SDK client's default (it probes the
   2026 era's ``server/discover``, which the SDK server answers) and in ``legacy`` mode (the
   ``initialize`` handshake, the era the gateway speaks), so the era's own cost is visible.
2. Lazy start: a tool set of 5 servers whose tool lists were recorded by an earlier run;
   wall time from spawning ``mgx tool serve`` to the first ``tools/list`` answer (process
   start, imports, MCP initialize included), median of ``--runs``; target <= 0.3 s. Timed
   with plain pipes (the gateway's own start; also its CPU time, which a busy machine does
   not inflate) and with the mcp SDK client (plus the client's own handshake). Both with the
   bytecode of mgx's modules cached, as an installed mgx has it (pip compiles on install; a
   checkout may run with PYTHONDONTWRITEBYTECODE, which would recompile them at every
   start): the cache goes to a temporary PYTHONPYCACHEPREFIX. The same with nothing
   recorded (every server started to list it) for comparison.
3. Peak memory (VmHWM) of the gateway process after the calls.

The load average is printed with the table: wall figures mean little on a busy machine.

Run: ``.venv/bin/python benchmarks/gateway_bench.py [--calls 300]``; prints Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MGX = [sys.executable, "-c", "import sys; from runtime.entry import main; sys.exit(main())"]


def setup(home: Path) -> Path:
    """A project with tool sets ``one`` (alpha) and ``five`` (s1..s5); returns its root."""
    os.environ["MGX_HOME"] = str(home)
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    from marketplace import commands
    from marketplace.project import find_project
    from marketplace.settings import Settings
    from tests.gateway.conftest import publish_gw
    from tests.lock.conftest import Files, World

    settings = Settings.from_env({"MGX_HOME": str(home)})
    files = Files()
    world = World(settings=settings, files=files, cache_path=home / "registry.sqlite3")
    names = ["alpha", *(f"s{i}" for i in range(1, 6))]
    for name in names:
        publish_gw(world, f"io.github.bench/{name}")
    world.serve()
    root = home / "proj"
    root.mkdir()
    os.chdir(root)
    project = find_project(create=True, settings=settings)
    commands.install(project, "alpha", toolset="one")
    for name in names[1:]:
        commands.install(project, name, toolset="five")
    world.close()
    files.close()
    return root


def _params(*args: str, root: Path) -> Any:
    from mcp.client.stdio import StdioServerParameters

    return StdioServerParameters(
        command=args[0], args=list(args[1:]), env=dict(os.environ), cwd=root
    )


async def overhead(root: Path, calls: int) -> dict[str, float]:
    """Per-call medians: direct (the SDK client's default era, and the handshake era the
    gateway speaks) and through the gateway; the gateway's CPU time and peak memory."""
    from mcp import Client
    from mcp.client.stdio import stdio_client

    server = REPO / "tests" / "gateway" / "gw_server.py"
    direct = _params(sys.executable, str(server), "--name", "alpha", root=root)
    gateway = _params(*MGX, "tool", "serve", "-t", "one", "--no-audit", root=root)
    with open(os.devnull, "w") as null:
        async with (
            Client(stdio_client(direct, errlog=null)) as d,
            Client(stdio_client(direct, errlog=null), mode="legacy") as dl,
            Client(stdio_client(gateway, errlog=null)) as g,
        ):
            await g.list_tools()
            for _ in range(20):  # warm all (the gateway starts its server on the first call)
                await d.call_tool("echo", {"text": "x"})
                await dl.call_tool("echo", {"text": "x"})
                await g.call_tool("alpha__echo", {"text": "x"})
            d_times: list[float] = []
            dl_times: list[float] = []
            g_times: list[float] = []
            pid = _gateway_pid()
            cpu_before = _cpu_seconds(pid)
            for _ in range(calls):
                for client, name, times in (
                    (d, "echo", d_times),
                    (dl, "echo", dl_times),
                    (g, "alpha__echo", g_times),
                ):
                    t = time.perf_counter()
                    await client.call_tool(name, {"text": "hello"})
                    times.append(time.perf_counter() - t)
            cpu_per_call = (_cpu_seconds(pid) - cpu_before) / calls
            rss = _peak_rss(pid)
    return {
        "gateway_cpu_ms": cpu_per_call * 1000,
        "direct_ms": statistics.median(d_times) * 1000,
        "direct_legacy_ms": statistics.median(dl_times) * 1000,
        "gateway_ms": statistics.median(g_times) * 1000,
        "rss_mb": rss,
    }


def _gateway_pid() -> int:
    """Our child process running ``tool serve``."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me and b"serve" in cmdline:
            return int(entry.name)
    raise RuntimeError("gateway process not found")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (load on other cores does not inflate it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss(pid: int) -> float:
    """VmHWM of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def in_process_list(root: Path) -> float:
    """``open_gateway`` + the first ``tools/list`` answer, in this (warm) process."""
    from runtime.gateway import GatewayOptions, open_gateway

    started = time.perf_counter()
    gateway = open_gateway(GatewayOptions(project=root, toolset="five", no_audit=True))
    tools = await gateway.backends.list_tools()
    elapsed = time.perf_counter() - started
    await gateway.aclose()
    assert len(tools) == _tool_count() and gateway.backends.recorded()
    return elapsed


def _tool_count() -> int:
    from tests.gateway.conftest import SERVER_TOOLS

    return 5 * (len(SERVER_TOOLS) + 1)  # tool set `five` denies nothing


async def first_list(root: Path, env: dict[str, str] | None = None) -> float:
    """Spawn ``mgx tool serve`` to its first ``tools/list`` answer, with the mcp SDK client
    (which probes ``server/discover`` first, then falls back to ``initialize``)."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=MGX[0],
        args=[*MGX[1:], "tool", "serve", "-t", "five", "--no-audit"],
        env=env or dict(os.environ),
        cwd=root,
    )
    started = time.perf_counter()
    with open(os.devnull, "w") as null:
        async with Client(stdio_client(params, errlog=null)) as client:
            tools = (await client.list_tools()).tools
            elapsed = time.perf_counter() - started
    assert len(tools) == _tool_count(), len(tools)
    return elapsed


def raw_first_list(root: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """The same with plain pipes: ``initialize`` and ``tools/list`` written at once, timed to
    the ``tools/list`` answer (the gateway's own start, no client library in the figure).
    Returns ``(wall seconds, CPU seconds of the gateway process by then)``: the CPU figure
    holds on a busy machine, where the wall figure mostly measures waiting for a core."""
    import json
    import subprocess

    lines = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*MGX, "tool", "serve", "-t", "five", "--no-audit"],
        cwd=root,
        env=env or dict(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in lines))
    proc.stdin.flush()
    proc.stdout.readline()
    answer = json.loads(proc.stdout.readline())
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(proc.pid)
    proc.stdin.close()
    proc.wait(30)
    assert len(answer["result"]["tools"]) == _tool_count()
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    load_before = os.getloadavg()
    home = Path(tempfile.mkdtemp(prefix="mgx-gw-bench-"))
    try:
        root = setup(home)
        state = home / "state" / "gateway"
        # Cold: neither the pinned descriptions (kept at install) nor a recorded list, so the
        # gateway must start all 5 servers to answer.
        cold = []
        for _ in range(opts.runs):
            (state / "tools.json").unlink(missing_ok=True)
            for pinned in list(home.rglob("tool-descriptions")):
                shutil.rmtree(pinned)
            cold.append(asyncio.run(first_list(root)))
        # As an installed mgx starts: its modules' bytecode cached (pip compiles on install;
        # this checkout may run with PYTHONDONTWRITEBYTECODE, which recompiles mgx's own
        # modules at every start). The cache goes to a temporary prefix, not the checkout.
        cached_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached_env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
        raw_first_list(root, cached_env)  # writes the cache
        raw_cached = [raw_first_list(root, cached_env) for _ in range(opts.runs)]
        lazy_cached = [asyncio.run(first_list(root, cached_env)) for _ in range(opts.runs)]
        inproc = [asyncio.run(in_process_list(root)) for _ in range(opts.runs)]
        logs = state / "logs"
        shutil.rmtree(logs, ignore_errors=True)
        asyncio.run(first_list(root))
        started_any = logs.exists() and any(logs.iterdir())
        figures = asyncio.run(overhead(root, opts.calls))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    load_after = os.getloadavg()
    over = figures["gateway_ms"] - figures["direct_ms"]
    over_legacy = figures["gateway_ms"] - figures["direct_legacy_ms"]
    inproc_s = statistics.median(inproc)
    n = opts.runs
    rows = [
        (
            f"`echo` on a direct stdio session, SDK client default (median of {opts.calls})",
            f"{figures['direct_ms']:.2f} ms",
            "",
            "",
        ),
        (
            '`echo` on a direct stdio session, SDK client `mode="legacy"` (initialize)',
            f"{figures['direct_legacy_ms']:.2f} ms",
            "",
            "",
        ),
        ("same call through `mgx tool serve`", f"{figures['gateway_ms']:.2f} ms", "", ""),
        ("**gateway overhead per call**", f"**{over:.2f} ms**", "<= 1 ms", _met(over <= 1)),
        ("overhead against the legacy-mode direct session", f"{over_legacy:.2f} ms", "", ""),
        (
            "gateway process CPU time per call (user + system)",
            f"{figures['gateway_cpu_ms']:.2f} ms",
            "",
            "",
        ),
        (
            f"set-up + first `tools/list`, 5 servers, recorded lists, in process (median of {n})",
            f"{inproc_s * 1000:.1f} ms",
            "<= 0.3 s",
            _met(inproc_s <= 0.3),
        ),
        (
            "spawn `mgx tool serve` to first `tools/list` answered, raw pipes, bytecode cached",
            f"{_wall(raw_cached):.3f} s",
            "<= 0.3 s",
            _met(_wall(raw_cached) <= 0.3),
        ),
        (
            "CPU time of the gateway process to that answer (user + system), bytecode cached",
            f"{_cpu(raw_cached):.3f} s",
            "",
            "",
        ),
        (
            "same, mcp SDK client (discover probe, then initialize), bytecode cached",
            f"{statistics.median(lazy_cached):.3f} s",
            "",
            "",
        ),
        (
            "servers started to answer that `tools/list`",
            "some" if started_any else "none",
            "none",
            _met(not started_any),
        ),
        (
            "spawn to first `tools/list`, nothing pinned or recorded"
            " (all 5 servers started), SDK client",
            f"{statistics.median(cold):.3f} s",
            "",
            "",
        ),
        ("gateway peak RSS (VmHWM) after the calls", f"{figures['rss_mb']:.1f} MiB", "", ""),
    ]
    print(f"load average before: {load_before[0]:.2f}, after: {load_after[0]:.2f} (1 min)")
    print("| measure | value | target | met |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _wall(runs: list[tuple[float, float]]) -> float:
    return statistics.median(r[0] for r in runs)


def _cpu(runs: list[tuple[float, float]]) -> float:
    return statistics.median(r[1] for r in runs)


def _met(ok: bool) -> str:
    return "yes" if ok else "no"


if __name__ == "__main__":
    main()
