"""Coordination benchmark: mgx vs MassGen on the same scripted OpenAI-compatible server.

The scripted server runs in its own process with a fixed latency per request (default 0.2 s)
and plays MassGen's protocol for any client: a request whose ``<CURRENT ANSWERS>`` block
holds an answer votes for the first holder; otherwise it gives a new answer; a request
without workflow tools (the presentation) gets the final answer. Both tools run
the same team file, unchanged: three ``chatcompletion`` agents pointed at the server.

Measured per tool (median of ``--runs``): wall time, CPU time (user + system of the process
and its children, from ``wait4``), peak memory (max RSS), and the requests and prompt tokens
the server saw. Then, for mgx alone: one coordination round with N agents (in process,
``coordinate``) against one agent, N = 3 and 8.

Run: ``.venv/bin/python benchmarks/coordination_bench.py [--latency 0.2] [--runs 3]
[--massgen PATH/TO/massgen]``; prints a Markdown section for docs/benchmarks.md. MassGen
needs its own environment (``uv venv m && uv pip install -p m massgen "mcp<2"``); without
``--massgen`` only mgx is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runtime.client import ChatClient  # noqa: E402
from runtime.coordination import CoordinationOptions, Member, coordinate  # noqa: E402

TASK = "What is the capital of France? Answer in one sentence."

_SERVER = """
import json, re, sys
from tests.scripted_llm import Reply, ScriptedLLM, call

BLOCK = re.compile(r"<CURRENT ANSWERS from the agents>(.*?)<END OF CURRENT ANSWERS>", re.S | re.I)
TAG = re.compile(r"<(agent\\d+)")  # MassGen may label answers agent1.1; votes name agent1

def script(body):
    tools = {t["function"]["name"] for t in body.get("tools") or []}
    if "new_answer" not in tools:
        return Reply(content="The capital of France is Paris.")  # the presentation
    text = "\\n".join(str(m.get("content") or "") for m in body["messages"])
    blocks = BLOCK.findall(text)
    holders = TAG.findall(blocks[-1]) if blocks else []
    if holders and "vote" in tools:
        return Reply(tool_calls=[call("vote", {"agent_id": holders[0], "reason": "correct"})])
    answer = {"content": "Paris is the capital of France."}
    return Reply(tool_calls=[call("new_answer", answer)])

s = ScriptedLLM(latency=float(sys.argv[1]), default=script, models=("bench-model",)).start()
print(s.port, flush=True)
sys.stdin.read()
print(json.dumps({"requests": len(s.requests), "prompt_tokens": s.prompt_tokens}), flush=True)
s.stop()
"""

TEAM = """agents:
{agents}
orchestrator: {{}}
ui:
  display_type: "simple"
  logging_enabled: false
"""
AGENT = """  - id: "agent_{i}"
    backend:
      type: "chatcompletion"
      model: "bench-model"
      base_url: "{url}"
"""


@contextmanager
def scripted_server(latency: float, stats: dict[str, Any]) -> Iterator[str]:
    """The scripted server in a child process; fills ``stats`` when it stops."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(latency)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.stdin.close()
        line = proc.stdout.readline()
        stats.update(json.loads(line) if line.strip() else {})
        proc.wait(timeout=30)


def team_file(url: str, agents: int, folder: Path) -> Path:
    path = folder / f"team{agents}.yaml"
    path.write_text(TEAM.format(agents="".join(AGENT.format(i=i, url=url) for i in range(agents))))
    return path


def measured(argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Wall, CPU (process and children) and max RSS of one command; it must exit 0."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}):\n{out[-2000:]}\n{err[-2000:]}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "output": out,  # type: ignore[dict-item]
    }


def run_tool(name: str, argv_for: Any, latency: float, runs: int) -> dict[str, float]:
    results = []
    for _ in range(runs):
        stats: dict[str, Any] = {}
        with tempfile.TemporaryDirectory() as tmp, scripted_server(latency, stats) as url:
            folder = Path(tmp)
            config = team_file(url, 3, folder)
            env = {**os.environ, "MGX_HOME": str(folder / "mgx-home"),
                   "LITELLM_LOCAL_MODEL_COST_MAP": "True", "NO_COLOR": "1",
                   "OPENAI_API_KEY": "not-needed"}  # fmt: skip
            result = measured(argv_for(config), env, folder)
        result.update(
            requests=stats.get("requests", 0), prompt_tokens=stats.get("prompt_tokens", 0)
        )
        results.append(result)
    keys = ("wall_s", "cpu_s", "rss_mb", "requests", "prompt_tokens")
    return {k: statistics.median(float(r[k]) for r in results) for k in keys}


async def one_round(url: str, agents: int) -> float:
    """Wall time of one coordination (answers, votes, presentation) with ``agents`` agents."""
    async with ChatClient(url, "bench-model") as client:
        members = [Member(name=f"a{i}", client=client) for i in range(agents)]
        t0 = time.perf_counter()
        await coordinate(TASK, members, options=CoordinationOptions())
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--massgen", help="the massgen console script of its own environment")
    opts = parser.parse_args()

    mgx = str(Path(sys.executable).with_name("mgx"))
    rows = {
        "mgx": run_tool(
            "mgx",
            lambda c: [mgx, "run", TASK, "--config", str(c), "--json"],
            opts.latency,
            opts.runs,
        )
    }
    if opts.massgen:
        rows["MassGen"] = run_tool(
            "MassGen",
            lambda c: [opts.massgen, "--config", str(c), "--automation", "--no-logs", TASK],
            opts.latency,
            opts.runs,
        )
    stats: dict[str, Any] = {}
    ratios = {}
    with scripted_server(opts.latency, stats) as url:
        asyncio.run(one_round(url, 1))  # warm-up: imports, first connections
        for n in (1, 3, 8):
            ratios[n] = statistics.median(asyncio.run(one_round(url, n)) for _ in range(opts.runs))

    print(f"Scripted server latency {opts.latency:g} s per request, 3 agents, median of "
          f"{opts.runs} runs, each tool as a fresh process (start-up included).\n")  # fmt: skip
    print("| tool | wall | CPU | peak RSS | requests | prompt tokens |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['wall_s']:.2f} s | {r['cpu_s']:.2f} s | {r['rss_mb']:.0f} MB | "
              f"{r['requests']:.0f} | {r['prompt_tokens']:.0f} |")  # fmt: skip
    if "MassGen" in rows:
        m, g = rows["mgx"], rows["MassGen"]
        print(f"\nmgx / MassGen: wall {m['wall_s'] / g['wall_s']:.3f}, "
              f"CPU {m['cpu_s'] / g['cpu_s']:.3f} (target <= 0.2 each)")  # fmt: skip
    print("\n| one coordination (in process) | wall | / 1 agent |")
    print("|---|---|---|")
    for n, wall in ratios.items():
        print(f"| {n} agent(s) | {wall:.3f} s | {wall / ratios[1]:.3f} |")


if __name__ == "__main__":
    main()
