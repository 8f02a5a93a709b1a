"""Marketplace-experience benchmarks (issue 13); prints a markdown section for
docs/benchmarks.md.

    .venv/bin/python benchmarks/experience_bench.py [--search-runs 21] [--install-runs 3]
                                                     [--skip-network]

1. Cold ``mgx tool search time --offline`` (the bundled snapshot, already imported) against
   ``python -c pass`` on the same machine, the two taking turns in new processes; target
   <= 10x. The same search through the full typer CLI (``mgx --debug tool search …`` skips
   the fast path) is shown for comparison.
2. Recording one tool call's usage on the caller's path (``UsageRecorder.record``), and the
   flush at hub close (off the caller's path); target <= 0.2 ms per call.
3. ``mgx tool install --no-check`` of ``mcp-server-time`` 2025.9.25 (PyPI) from a registry
   served by ``mgx registry serve`` against raw ``uv venv`` + ``uv pip install`` of the same
   version, interleaved, warm caches (a first round is not counted); target <= 1.25x. Needs
   PyPI.

Bytecode is written (``PYTHONDONTWRITEBYTECODE`` is unset), as an installed package has it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
BIN = Path(sys.executable).parent
MGX = str(BIN / "mgx")


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.strip()[-400:]}")
    return took


def bench_search(root: Path, env: dict[str, str], runs: int) -> dict[str, list[float]]:
    fast = [MGX, "tool", "search", "time", "--offline"]
    full = [MGX, "--debug", "tool", "search", "time", "--offline"]
    floor = [sys.executable, "-c", "pass"]
    for cmd in (fast, full, floor):  # imports the snapshot, writes bytecode
        timed(cmd, env, root)
    out: dict[str, list[float]] = {"fast": [], "full": [], "floor": []}
    for _ in range(runs):
        out["fast"].append(timed(fast, env, root))
        out["floor"].append(timed(floor, env, root))
        out["full"].append(timed(full, env, root))
    return out


def bench_usage(root: Path) -> dict[str, float]:
    from marketplace.usage import UsageRecorder, UsageStore

    n = 100_000
    per_call = []
    for _ in range(5):
        recorder = UsageRecorder(UsageStore(root / "usage.sqlite3"))
        started = time.perf_counter()
        for _ in range(n):
            recorder.record("server-time", "get_current_time", error=False, seconds=0.004)
        per_call.append((time.perf_counter() - started) / n)
    off = UsageRecorder(None)
    started = time.perf_counter()
    for _ in range(n):
        off.record("server-time", "get_current_time", error=False, seconds=0.004)
    off_call = (time.perf_counter() - started) / n
    flushes = []
    for _ in range(5):
        recorder = UsageRecorder(UsageStore(root / "usage.sqlite3"))
        for _ in range(1000):
            recorder.record("server-time", "get_current_time", error=False, seconds=0.004)
        started = time.perf_counter()
        recorder.flush()
        flushes.append(time.perf_counter() - started)
    return {
        "record": min(per_call),
        "record_median": statistics.median(per_call),
        "off": off_call,
        "flush_1000": statistics.median(flushes),
    }


def bench_pypi(root: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    from install_bench import UV, serve_registry

    proc = serve_registry(root, env)
    try:
        project = root / "project"
        project.mkdir()
        mgx_times, raw_times = [], []
        for i in range(runs + 1):
            took = timed([MGX, "tool", "install", "mcp-server-time", "--no-check"], env, project)
            timed([MGX, "tool", "remove", "mcp-server-time"], env, project)
            raw_dir = root / f"raw-{i}"
            raw_dir.mkdir()
            started = time.perf_counter()
            timed([UV, "venv", "-q", str(raw_dir / "venv")], env, raw_dir)
            timed(
                [UV, "pip", "install", "-q", "-p", str(raw_dir / "venv"),
                 "mcp-server-time==2025.9.25"],
                env, raw_dir,
            )  # fmt: skip
            raw = time.perf_counter() - started
            shutil.rmtree(raw_dir)
            if i:
                mgx_times.append(took)
                raw_times.append(raw)
    finally:
        proc.terminate()
        proc.wait(15)
    return {"mgx": statistics.median(mgx_times), "uv": statistics.median(raw_times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search-runs", type=int, default=21)
    parser.add_argument("--install-runs", type=int, default=3)
    parser.add_argument("--skip-network", action="store_true")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(MGX_HOME=str(root / "home"), MGX_OFFLINE="1", MGX_NO_USAGE="1")
        search = bench_search(root, env, opts.search_runs)
        usage = bench_usage(root)
        pypi = None
        if not opts.skip_network:
            net_env = {k: v for k, v in env.items() if k != "MGX_OFFLINE"}
            net_env["MGX_HOME"] = str(root / "home-net")
            pypi = bench_pypi(root, net_env, opts.install_runs)
    med = {k: statistics.median(v) for k, v in search.items()}
    best = {k: min(v) for k, v in search.items()}
    ratio = med["fast"] / med["floor"]
    print("| measure | result | target | met |")
    print("|---|---|---|---|")
    print(
        f"| cold `mgx tool search time --offline`, median (best) of {opts.search_runs} "
        f"| {med['fast'] * 1e3:.0f} ms ({best['fast'] * 1e3:.0f} ms) |  |  |"
    )
    print(
        f"| `python -c pass`, median (best) | {med['floor'] * 1e3:.0f} ms "
        f"({best['floor'] * 1e3:.0f} ms) |  |  |"
    )
    print(
        f"| ratio search / python, medians (bests) | {ratio:.1f}x "
        f"({best['fast'] / best['floor']:.1f}x) | <= 10x | {'yes' if ratio <= 10 else 'no'} |"
    )
    print(
        f"| same search through the full typer CLI, median | {med['full'] * 1e3:.0f} ms "
        f"({med['full'] / med['floor']:.1f}x) |  |  |"
    )
    rec = usage["record"] * 1e3
    print(
        f"| usage: `record()` per tool call, best (median) of 5 x 100,000 | {rec * 1e3:.2f} us "
        f"({usage['record_median'] * 1e6:.2f} us) | <= 200 us | {'yes' if rec <= 0.2 else 'no'} |"
    )
    print(f"| usage: `record()` with usage off | {usage['off'] * 1e6:.2f} us |  |  |")
    print(
        f"| usage: flush of 1,000 calls at hub close (off the caller's path) "
        f"| {usage['flush_1000'] * 1e3:.1f} ms |  |  |"
    )
    if pypi is not None:
        r = pypi["mgx"] / pypi["uv"]
        print(f"| pypi: raw `uv venv` + `uv pip install` | {pypi['uv']:.2f} s |  |  |")
        print(
            f"| pypi: `mgx tool install --no-check` | {pypi['mgx']:.2f} s ({r:.2f}x) "
            f"| <= 1.25x | {'yes' if r <= 1.25 else 'no'} |"
        )
    load = os.getloadavg()[0]
    print(f"\nMachine: {os.cpu_count()} CPU cores, load average {load:.1f} at the end of the run.")


if __name__ == "__main__":
    main()
