"""Agent runtime benchmarks against the scripted OpenAI-compatible server (fixed latency).

Measures, with the server in its own process (so its threads do not share our GIL):

1. runtime overhead per agent step: ``Agent.step`` (client, SSE assembly, validation,
   history, usage) minus a raw httpx round trip with the same request body, medians;
   target <= 5 ms.
2. tool-call overhead: ``ToolHub.call`` minus a direct mcp SDK ``call_tool`` on the same
   stdio server, medians.
3. N agents stepping concurrently vs one: wall time of N agents doing K steps each at the
   same time, divided by one agent doing K steps; target <= 1.2 for N = 3 and 8.

Run: ``.venv/bin/python benchmarks/agent_bench.py [--latency 0.05] [--steps 40]``;
prints a Markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runtime.agent import Agent, AgentConfig  # noqa: E402
from runtime.client import ChatClient  # noqa: E402
from runtime.tools import ServerSpec, ToolHub  # noqa: E402

CPU_PER_STEP: dict[int, float] = {}
DEMO = REPO / "tests" / "agents" / "mcp_demo_server.py"
ANSWER = "The answer is 42. " * 8  # ~150 characters, streamed in small deltas

_SERVER = """
import sys
from tests.scripted_llm import Reply, ScriptedLLM
s = ScriptedLLM(latency=float(sys.argv[1]), default=Reply(content=sys.argv[2])).start()
print(s.port, flush=True)
sys.stdin.read()
s.stop()
"""


class ScriptedProcess:
    """The scripted server in a child process; ``url`` is its API root."""

    def __init__(self, latency: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(latency), ANSWER],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}/v1"

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def raw_round_trips(http, url: str, body: dict, n: int) -> list[float]:
    """The floor: post the request and read the whole SSE body, nothing else."""
    payload = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with http.stream(
            "POST", url + "/chat/completions", content=payload, headers=headers
        ) as resp:
            async for _ in resp.aiter_bytes():
                pass
        out.append(time.perf_counter() - t0)
    return out


async def agent_steps(agent: Agent, task: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        history = agent.initial_messages(task)
        t0 = time.perf_counter()
        await agent.step(history)
        out.append(time.perf_counter() - t0)
    return out


async def step_overhead(url: str, hub: ToolHub, n: int) -> dict[str, float]:
    import httpx

    async with ChatClient(url, "scripted") as client, httpx.AsyncClient(timeout=60) as http:
        agent = Agent(client, hub=hub)
        task = "What is the answer?"
        body = {
            "model": "scripted",
            "messages": agent.initial_messages(task),
            "stream": True,
            "stream_options": {"include_usage": True},
            "tools": hub.openai_tools(),
        }
        await raw_round_trips(http, url, body, 5)  # warm up connections
        await agent_steps(agent, task, 5)
        raw, step = [], []
        for _ in range(n):  # interleaved, so drift hits both alike
            raw += await raw_round_trips(http, url, body, 1)
            step += await agent_steps(agent, task, 1)
    return {"raw": median_ms(raw), "step": median_ms(step)}


async def tool_overhead(n: int) -> dict[str, float]:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(command=sys.executable, args=[str(DEMO)])
    direct, hubbed = [], []
    spec = ServerSpec(name="demo", command=(sys.executable, str(DEMO)))
    async with Client(params) as mcp_client, ToolHub([spec]) as hub:
        for _ in range(5):
            await mcp_client.call_tool("add", {"a": 1, "b": 2})
            await hub.call("demo__add", {"a": 1, "b": 2})
        for _ in range(n):
            t0 = time.perf_counter()
            await mcp_client.call_tool("add", {"a": 1, "b": 2})
            direct.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            await hub.call("demo__add", {"a": 1, "b": 2})
            hubbed.append(time.perf_counter() - t0)
    return {"direct": median_ms(direct), "hub": median_ms(hubbed)}


async def concurrent_wall(url: str, hub: ToolHub, agents: int, steps: int) -> float:
    async with ChatClient(url, "scripted") as client:
        team = [Agent(client, hub=hub, config=AgentConfig(name=f"a{i}")) for i in range(agents)]
        await asyncio.gather(*(agent_steps(a, "warm up", 1) for a in team))
        t0, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(agent_steps(a, f"task {i}", steps) for i, a in enumerate(team)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        CPU_PER_STEP[agents] = cpu / (agents * steps)
        return wall


async def concurrency(
    url: str, hub: ToolHub, steps: int, pairs: int
) -> tuple[dict[int, float], dict[int, float]]:
    """Wall times (medians) and N-vs-1 ratios: the median over back-to-back (N, 1) pairs,
    so that load drifting on a shared machine hits both sides of each ratio alike."""
    walls: dict[int, list[float]] = {1: [], 3: [], 8: []}
    ratios: dict[int, list[float]] = {3: [], 8: []}
    for _ in range(pairs):
        for n in (3, 8):
            many = await concurrent_wall(url, hub, n, steps)
            one = await concurrent_wall(url, hub, 1, steps)
            walls[n].append(many)
            walls[1].append(one)
            ratios[n].append(many / one)
    return (
        {n: statistics.median(w) for n, w in walls.items()},
        {n: statistics.median(r) for n, r in ratios.items()},
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="server latency (s)")
    parser.add_argument("--steps", type=int, default=40, help="samples (steps per agent: /4)")
    parser.add_argument("--pairs", type=int, default=5, help="(N, 1) pairs per ratio")
    opts = parser.parse_args()
    server = ScriptedProcess(opts.latency)
    spec = ServerSpec(name="demo", command=(sys.executable, str(DEMO)))
    try:
        async with ToolHub([spec]) as hub:
            over = await step_overhead(server.url, hub, opts.steps)
            walls, ratios = await concurrency(server.url, hub, opts.steps // 4, opts.pairs)
        tools = await tool_overhead(opts.steps)
    finally:
        server.close()
    result = {
        "latency_ms": opts.latency * 1000,
        "step_median_ms": round(over["step"], 2),
        "raw_http_median_ms": round(over["raw"], 2),
        "step_overhead_ms": round(over["step"] - over["raw"], 2),
        "tool_call_hub_ms": round(tools["hub"], 2),
        "tool_call_direct_ms": round(tools["direct"], 2),
        "tool_overhead_ms": round(tools["hub"] - tools["direct"], 2),
        "wall_s": {n: round(w, 3) for n, w in walls.items()},
        "ratio_3": round(ratios[3], 3),
        "ratio_8": round(ratios[8], 3),
        "cpus": os.cpu_count(),
        "client_cpu_ms_per_step": {n: round(c * 1000, 2) for n, c in CPU_PER_STEP.items()},
    }
    print(json.dumps(result, indent=2), file=sys.stderr)
    print(render(result, opts.steps, opts.pairs))


def render(r: dict, steps: int, pairs: int) -> str:
    ok = lambda good: "yes" if good else "**no**"  # noqa: E731
    return "\n".join(
        [
            f"Scripted server in its own process, fixed latency {r['latency_ms']:g} ms per "
            f"request; {steps} samples per step measure (medians); each wall ratio is the median "
            f"of {pairs} back-to-back (N agents, 1 agent) pairs of {steps // 4} steps per agent; "
            f"{r['cpus']} CPUs. Command: `.venv/bin/python benchmarks/agent_bench.py`.",
            "",
            "| measure | value | target | met |",
            "|---|---|---|---|",
            f"| agent step (model answer, 16 tools offered) | {r['step_median_ms']} ms | | |",
            f"| raw HTTP round trip, same request | {r['raw_http_median_ms']} ms | | |",
            f"| **runtime overhead per step** | **{r['step_overhead_ms']} ms** | <= 5 ms "
            f"| {ok(r['step_overhead_ms'] <= 5)} |",
            f"| tool call via ToolHub (stdio) | {r['tool_call_hub_ms']} ms | | |",
            f"| same call, mcp SDK directly | {r['tool_call_direct_ms']} ms | | |",
            f"| ToolHub overhead per tool call | {r['tool_overhead_ms']} ms | | |",
            f"| 1 agent x {steps // 4} steps, wall | {r['wall_s'][1]} s | | |",
            f"| client-process CPU per agent step (1 / 8 agents) | "
            f"{r['client_cpu_ms_per_step'][1]} / {r['client_cpu_ms_per_step'][8]} ms | | |",
            f"| 3 agents concurrently, wall / 1 agent | {r['ratio_3']} | <= 1.2 "
            f"| {ok(r['ratio_3'] <= 1.2)} |",
            f"| 8 agents concurrently, wall / 1 agent | {r['ratio_8']} | <= 1.2 "
            f"| {ok(r['ratio_8'] <= 1.2)} |",
        ]
    )


if __name__ == "__main__":
    asyncio.run(main())
