"""Integrity benchmarks (issue 9); prints a markdown section for docs/benchmarks.md.

    .venv/bin/python benchmarks/integrity_bench.py [--tools 20] [--runs 7]

Loopback only (no network): the tests' registry (``mgx registry serve`` over a real SQLite
cache) publishes ``--tools`` servers, each a real ``.mcpb`` bundle whose server is the tests'
echo server (mcp SDK); one ``mgx tool sync`` installs, checks and pins them all.

1. ``mgx tool verify`` over every installed tool (invocation rule, every file re-hashed, pins):
   median wall time of the real console script over ``--runs`` runs (target <= 2 s), also
   inside a network namespace with no interfaces (``unshare -n``) when available.
2. ``mgx tool sync --frozen`` (the fast path) with the same tools installed: median wall time,
   now that it also applies the invocation rule and the quick file check to every tool.
3. The tool-description check at ``ToolHub`` start: the work the hub adds per server
   (canonicalise + hash the listed tools and compare with the lock's pins) measured on the
   real ``tools/list`` objects of a started server, median over many repetitions (target
   <= 5 ms per server), and a ``ToolHub`` start of all servers with and without pins.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent
MGX = str(BIN / "mgx")


CPU: list[float] = []  # CPU seconds (user + sys) of each timed command, in order


def timed(cmd: list[str], *, cwd: Path, env: dict[str, str], ok: bool = True) -> float:
    """Wall seconds of ``cmd``; its CPU seconds go to ``CPU`` (the machine may be shared:
    CPU time shows the work itself, wall time what a user waits)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if ok and done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stdout[-400:]} {done.stderr[-400:]}")
    return took


def cpu_ms(runs: int) -> str:
    """Median CPU time of the last ``runs`` timed commands."""
    return f"{statistics.median(CPU[-runs:]) * 1000:.0f} ms CPU"


def setup(root: Path, count: int) -> tuple[Path, dict[str, str], object]:
    from marketplace.settings import Settings
    from tests.lock.conftest import Files, World

    home = root / "home"
    env = {**os.environ, "MGX_HOME": str(home), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    os.environ.update({"MGX_HOME": str(home), "PATH": env["PATH"]})
    world = World(
        settings=Settings.from_env({"MGX_HOME": str(home)}),
        files=Files(),
        cache_path=root / "registry.sqlite3",
    )
    names = [f"io.github.bench/echo-{i:02d}" for i in range(count)]
    for name in names:
        world.publish(name, ["1.0.0"])
    world.serve()
    project = root / "proj"
    project.mkdir()
    (project / "mgx.toml").write_text("[tools]\n" + "".join(f'"{n}" = "1.0.0"\n' for n in names))
    took = timed([MGX, "tool", "sync"], cwd=project, env=env)
    print(f"setup: {count} tools installed, checked and pinned in {took:.1f}s", file=sys.stderr)
    return project, env, world


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.0f} ms"


def pin_check_cost(project: Path) -> tuple[float, float, float]:
    """Per-server cost of the pin comparison on real tools/list objects; hub start with/without."""
    from marketplace.project import find_project
    from marketplace.tool_pins import compare_pins, pins_store
    from runtime.tools import ToolHub
    from runtime.toolset_loader import load_toolset

    proj = find_project(project)
    specs = load_toolset(proj.settings, project, None)

    async def listed() -> list[object]:
        from runtime.tools._server import ServerConnection

        conn = ServerConnection(
            replace(specs[0], tool_pins=None),
            log_dir=None,
            startup_timeout=60,
            max_restarts=0,
            max_result_chars=10_000,
        )
        await conn.start()
        tools = list(conn.tools)
        await conn.stop()
        return tools

    tools = asyncio.run(listed())
    pins = specs[0].tool_pins
    assert pins is not None
    store = pins_store(proj.settings)
    samples = []
    for _ in range(200):
        started = time.perf_counter()
        compare_pins(store, "bench", pins, tools)
        samples.append(time.perf_counter() - started)

    async def hub(pinned: bool) -> float:
        chosen = specs if pinned else [replace(s, tool_pins=None) for s in specs]
        started = time.perf_counter()
        async with ToolHub(chosen):
            took = time.perf_counter() - started
        return took

    with_pins = [asyncio.run(hub(True)) for _ in range(3)]
    without = [asyncio.run(hub(False)) for _ in range(3)]
    return statistics.median(samples), statistics.median(with_pins), statistics.median(without)


def row(what: str, result: str, target: str = "") -> None:
    print(f"| {what} | {result} | {target} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tools", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    opts = parser.parse_args()
    n = opts.runs
    with tempfile.TemporaryDirectory(prefix="mgx-integrity-bench-") as tmp:
        project, env, world = setup(Path(tmp), opts.tools)
        try:
            verify = [timed([MGX, "tool", "verify"], cwd=project, env=env) for _ in range(n)]
            verify_cpu = cpu_ms(n)
            base = [timed([MGX, "tool", "list"], cwd=project, env=env) for _ in range(n)]
            base_cpu = cpu_ms(n)
            offline = None
            if shutil.which("unshare"):
                probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
                if probe.returncode == 0:
                    argv = ["unshare", "-rn", MGX, "tool", "verify"]
                    offline = [timed(argv, cwd=project, env=env) for _ in range(n)]
            argv = [MGX, "tool", "sync", "--frozen"]
            frozen = [timed(argv, cwd=project, env=env) for _ in range(n)]
            frozen_cpu = cpu_ms(n)
            per_server, hub_pinned, hub_plain = pin_check_cost(project)
        finally:
            world.close()  # type: ignore[attr-defined]
            world.files.close()  # type: ignore[attr-defined]
    print(f"## Integrity (issue 9)\n\n{opts.tools} installed tools (mcpb bundles of the tests'")
    print("echo server), loopback only; medians of wall time (and CPU time).\n")
    print("| measurement | result | target |\n|---|---|---|")
    count = opts.tools
    row(
        f"`mgx tool verify`, {count} tools, every file re-hashed",
        f"{median_ms(verify)} ({verify_cpu})",
        "<= 2 s",
    )
    row(
        "for scale: `mgx tool list` (the same CLI start, no checks)",
        f"{median_ms(base)} ({base_cpu})",
    )
    if offline is not None:
        row(
            "`mgx tool verify` with no network at all (`unshare -rn`)", median_ms(offline), "<= 2 s"
        )
    row(
        f"`mgx tool sync --frozen`, {count} tools (invocation rule + quick file check)",
        f"{median_ms(frozen)} ({frozen_cpu})",
    )
    row(
        "tool-description check per server at `ToolHub` start",
        f"{per_server * 1000:.2f} ms",
        "<= 5 ms",
    )
    row(
        f"`ToolHub` start of {count} servers, pinned / unpinned",
        f"{hub_pinned:.2f} s / {hub_plain:.2f} s",
    )


if __name__ == "__main__":
    main()
