"""Workspace benchmarks: what files cost a run.

1. Snapshot of a workspace of 1,000 files / 50 MB (``RunWorkspaces.on_new_answer``: copy
   into ``.tmp`` — clone where the filesystem can, else an in-kernel copy — then rename);
   target <= 0.5 s. Median of ``--rounds`` snapshots, each of a freshly rewritten workspace.
2. Rebuilding one agent's read-only view of two such snapshots (hard links).
3. Restoring a snapshot into the presenter's workspace, and ``finish`` with ``--output``.
4. Starting the filesystem MCP servers of 1 and of 3 agents (two instances each: writable
   and read-only) through ``ToolHub``: the fixed cost workspaces add to a run's start.

Run: ``.venv/bin/python benchmarks/workspace_bench.py [--rounds 5] [--fs-prefix DIR]``;
``--fs-prefix`` is an npm prefix holding ``@modelcontextprotocol/server-filesystem`` (else
one is installed into a temp dir with ``npm install --ignore-scripts``). Prints Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
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

from runtime.tools import ServerSpec, ToolHub  # noqa: E402
from runtime.workspaces import RunWorkspaces, file_servers  # noqa: E402

FILES = 1000
TOTAL = 50 * 1024 * 1024
FS_PACKAGE = "@modelcontextprotocol/server-filesystem@2026.8.31"


def fill(workspace: Path, seed: int) -> None:
    """1,000 files in 20 directories, 50 MB in all, fresh content each round."""
    size = TOTAL // FILES
    block = os.urandom(size) + bytes([seed % 256])
    for i in range(FILES):
        d = workspace / f"dir{i % 20:02d}"
        d.mkdir(exist_ok=True)
        (d / f"file{i:04d}.bin").write_bytes(block[i % 7 :][:size])


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def bench_files(root: Path, rounds: int) -> dict[str, float | str]:
    snaps, cpus, again, views, restores, outs, purges = [], [], [], [], [], [], []
    method = ""
    for r in range(rounds):
        ws = RunWorkspaces(
            root / f"run{r}", workspace_agents=("a1", "a2", "a3"), defer_cleanup=True
        )
        fill(ws.workspace("a1"), r)  # type: ignore[arg-type]
        fill(ws.workspace("a2"), r + 1)  # type: ignore[arg-type]
        os.sync()  # the copy reads data already on disk, as after an agent's writes
        start, cpu = time.perf_counter(), time.process_time()
        info = ws.on_new_answer("a1", "agent1")
        snaps.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        assert info is not None and info.files == FILES
        method = info.method
        # the agent edits 10 files and answers again: the rest is linked, not copied
        for i in range(10):
            (ws.workspace("a1") / "dir00" / f"file{i * 20:04d}.bin").write_bytes(b"edit")  # type: ignore[operator]
        again.append(timed(lambda ws=ws: ws.on_new_answer("a1", "agent1")))
        ws.on_new_answer("a2", "agent2")
        views.append(timed(lambda ws=ws: ws.view_for("a3")))
        restores.append(timed(lambda ws=ws: ws.prepare_presenter("a1", "a3")))
        outs.append(timed(lambda ws=ws, r=r: ws.finish(root / f"out{r}")))
        purges.append(timed(ws.purge))
        shutil.rmtree(root / f"out{r}")
    return {
        "snapshot": statistics.median(snaps),
        "snapshot_max": max(snaps),
        "snapshot_min": min(snaps),
        "snapshot_cpu": statistics.median(cpus),
        "method": method,
        "again": statistics.median(again),
        "view": statistics.median(views),
        "restore": statistics.median(restores),
        "finish": statistics.median(outs),
        "purge": statistics.median(purges),
    }


async def start_servers(base: ServerSpec, root: Path, agents: int) -> float:
    ws = RunWorkspaces(root, workspace_agents=[f"a{i}" for i in range(agents)])
    hubs = []
    for i in range(agents):
        ws.view_for(f"a{i}")
        hubs.append(ToolHub(file_servers(base, ws.access(f"a{i}", "coordination")).specs))
    start = time.perf_counter()
    await asyncio.gather(*(h.__aenter__() for h in hubs))
    elapsed = time.perf_counter() - start
    await asyncio.gather(*(h.__aexit__(None, None, None) for h in hubs))
    return elapsed


def fs_server(prefix: Path | None, tmp: Path) -> ServerSpec:
    if prefix is None:
        prefix = tmp / "npm"
        subprocess.run(
            ["npm", "install", "--prefix", str(prefix), "--ignore-scripts", "--silent", FS_PACKAGE],
            check=True,
        )
    entry = prefix / "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"
    return ServerSpec(name="filesystem", command=(shutil.which("node") or "node", str(entry)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fs-prefix", type=Path, default=None)
    parser.add_argument("--dir", type=Path, default=None, help="where to work (default: tmp)")
    args = parser.parse_args()
    load0 = f"{os.getloadavg()[0]:.2f}"
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp_name:
        tmp = Path(tmp_name)
        files = bench_files(tmp / "files", args.rounds)
        base = fs_server(args.fs_prefix, tmp)
        one = statistics.median(
            [asyncio.run(start_servers(base, tmp / f"s1-{i}", 1)) for i in range(3)]
        )
        three = statistics.median(
            [asyncio.run(start_servers(base, tmp / f"s3-{i}", 3)) for i in range(3)]
        )
    snap = files["snapshot"]
    print(
        f"Load average before / after: {load0} / {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)\n"
    )
    print("| measure | result | target | met |")
    print("|---|---|---|---|")
    ok = "yes" if isinstance(snap, float) and snap <= 0.5 else "no"
    print(
        f"| snapshot, 1,000 files / 50 MB ({files['method']}), median (max) | "
        f"{snap:.3f} s ({files['snapshot_max']:.3f} s) | <= 0.5 s | {ok} |"
    )
    print(f"| ... fastest round | {files['snapshot_min']:.3f} s | | |")
    print(
        f"| ... CPU time of the snapshot (user + system), median | "
        f"{files['snapshot_cpu']:.3f} s | | |"
    )
    print(f"| next snapshot after editing 10 files (rest linked) | {files['again']:.3f} s | | |")
    print(f"| view of 2 such snapshots for one agent (hard links) | {files['view']:.3f} s | | |")
    print(f"| presenter restore (copy of one snapshot) | {files['restore']:.3f} s | | |")
    print(f"| finish with --output (copy out; cleanup set aside) | {files['finish']:.3f} s | | |")
    print(f"| purge: deleting the run's trees (~7,000 files) | {files['purge']:.3f} s | | |")
    print(f"| filesystem servers of 1 agent (2 instances), start | {one:.3f} s | | |")
    print(f"| filesystem servers of 3 agents (6 instances), start | {three:.3f} s | | |")


if __name__ == "__main__":
    main()
