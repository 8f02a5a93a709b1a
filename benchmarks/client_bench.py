"""Chat-client benchmarks against the scripted OpenAI-compatible server (fixed latency).

The server runs in its own process (its threads must not share our GIL) and answers every
request with the same streamed tool call, split into small deltas as vLLM sends them.

1. Overhead per step: ``ChatClient.complete`` (request building, history normalisation,
   SSE parsing, delta assembly, JSON-schema validation) minus a raw ``httpx`` streamed POST
   of the same body read to the end; alternated, medians; target <= 5 ms.
2. Concurrency: N clients (one per agent) each making K sequential calls at the same time,
   wall time divided by one client making K calls (median of 5 pairs); target <= 1.2 for
   N = 3 and 8.

Run: ``.venv/bin/python benchmarks/client_bench.py [--latency 0.05] [--steps 40]``; prints
a Markdown section for docs/benchmarks.md. The functions are importable (``start_server``,
``measure_overhead``, ``measure_concurrency``) so other benchmarks can reuse them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402 - after the path set-up above

from runtime.client import ChatClient  # noqa: E402

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather forecast for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "units": {"type": "string", "enum": ["metric", "imperial"]},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
ARGUMENTS = {"city": "Paris", "days": 3, "units": "metric"}

_SERVER = """
import json, sys
from tests.scripted_llm import Reply, ScriptedLLM, call
reply = Reply(tool_calls=[call("get_weather", json.loads(sys.argv[2]))], piece=6)
s = ScriptedLLM(latency=float(sys.argv[1]), default=reply).start()
print(s.port, flush=True)
sys.stdin.read()
s.stop()
"""


@contextmanager
def start_server(latency: float) -> Iterator[str]:
    """The scripted server in a child process; yields its API root URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(latency), json.dumps(ARGUMENTS)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def history(turns: int = 4) -> list[dict[str, Any]]:
    """A conversation of a realistic shape: system, task, then tool rounds."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a capable assistant. " * 20},
        {"role": "user", "content": "Plan a three-day trip and check the weather each day."},
    ]
    for i in range(turns):
        call_id = f"call{i:05d}"
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": json.dumps(ARGUMENTS)},
                    }
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": call_id, "content": "sunny, 24C " * 10})
    return messages


async def _one_step(client: ChatClient, messages: list[dict[str, Any]]) -> None:
    done = await client.complete(messages, tools=[TOOL])
    if done.tool_calls[0].arguments != ARGUMENTS:
        raise AssertionError(f"unexpected answer: {done}")


async def measure_overhead(url: str, steps: int) -> dict[str, float]:
    """Median ``complete`` time vs a raw streamed POST of the same body (alternated)."""
    messages = history()
    body = {
        "model": "scripted",
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [TOOL],
    }
    payload = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    client_t, raw_t = [], []
    async with ChatClient(url, "scripted") as client, httpx.AsyncClient() as raw:
        endpoint = client.url
        for _ in range(3):  # warm both connection pools
            await _one_step(client, messages)
            await raw.post(endpoint, content=payload, headers=headers)
        for _ in range(steps):
            t0 = time.perf_counter()
            async with raw.stream("POST", endpoint, content=payload, headers=headers) as resp:
                await resp.aread()
            t1 = time.perf_counter()
            await _one_step(client, messages)
            t2 = time.perf_counter()
            raw_t.append(t1 - t0)
            client_t.append(t2 - t1)
    client_med, raw_med = statistics.median(client_t), statistics.median(raw_t)
    return {
        "client_ms": client_med * 1e3,
        "raw_ms": raw_med * 1e3,
        "overhead_ms": (client_med - raw_med) * 1e3,
    }


async def _clients_stepping(url: str, n: int, steps: int) -> float:
    clients = [ChatClient(url, "scripted") for _ in range(n)]
    messages = history()
    try:
        await asyncio.gather(*(_one_step(c, messages) for c in clients))  # warm
        start = time.perf_counter()

        async def agent(client: ChatClient) -> None:
            for _ in range(steps):
                await _one_step(client, messages)

        await asyncio.gather(*(agent(c) for c in clients))
        return time.perf_counter() - start
    finally:
        for c in clients:
            await c.aclose()


async def measure_concurrency(
    url: str, ns: tuple[int, ...], steps: int, *, repeats: int = 5
) -> dict[int, float]:
    """Wall time of N clients stepping together divided by one client stepping alone.

    Each ratio is the median of ``repeats`` pairs measured back to back, so a burst of
    load from something else on the machine skews one pair, not the result.
    """
    out = {}
    for n in ns:
        ratios = []
        for _ in range(repeats):
            single = await _clients_stepping(url, 1, steps)
            ratios.append(await _clients_stepping(url, n, steps) / single)
        out[n] = statistics.median(ratios)
    return out


def render(latency: float, steps: int, overhead: dict[str, float], ratios: dict[int, float]) -> str:
    """The Markdown section for docs/benchmarks.md."""
    ok_o = "yes" if overhead["overhead_ms"] <= 5 else "NO"
    lines = [
        "## Runtime client (issue 4)",
        "",
        f"`benchmarks/client_bench.py --latency {latency} --steps {steps}`: scripted "
        "OpenAI-compatible server in its own process, fixed latency per request, every answer "
        "a streamed tool call (6-character deltas) checked against its JSON schema; history of "
        "10 messages. One run: step times are medians; each wall ratio is the median of 5 "
        "back-to-back pairs (N clients, then 1).",
        "",
        "| measure | result | target | met |",
        "|---|---|---|---|",
        f"| raw httpx streamed POST, read to the end | {overhead['raw_ms']:.2f} ms | | |",
        f"| `ChatClient.complete` (same request) | {overhead['client_ms']:.2f} ms | | |",
        f"| overhead per step | {overhead['overhead_ms']:.2f} ms | <= 5 ms | {ok_o} |",
    ]
    for n, ratio in ratios.items():
        met = "yes" if ratio <= 1.2 else "NO"
        lines.append(f"| {n} clients stepping vs 1 (wall ratio) | {ratio:.3f} | <= 1.2 | {met} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="server latency (s)")
    parser.add_argument("--steps", type=int, default=40, help="calls per measurement")
    args = parser.parse_args()
    with start_server(args.latency) as url:
        overhead = asyncio.run(measure_overhead(url, args.steps))
        ratios = asyncio.run(measure_concurrency(url, (3, 8), args.steps))
    print(render(args.latency, args.steps, overhead, ratios))


if __name__ == "__main__":
    main()
