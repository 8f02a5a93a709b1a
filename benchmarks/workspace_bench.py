"""Workspace benchmarks: what files cost a run.

1. Snapshot of a workspace of 1,000 files / 50 MB (``RunWorkspaces.on_new_answer``: copy
   into ``.tmp`` — clone where the filesystem can, else an in-kernel copy — then rename);
   target <= 0.5 s. Median of ``--rounds`` snapshots, each of a freshly rewritten workspace.
2. Rebuilding one agent's read-only view of two such snapshots (hard links).
3. Restoring a snapshot into the presenter's workspace, and ``finish`` with ``--output``.
4. Starting the filesystem MCP servers of 1 and of 3 agents (two instances each: writable
   and read-only) through ``ToolHub``: the fixed cost workspaces add to a run's start.
5. A proxy for "a 3-agent run with workspaces vs without" until the coordination loop
   exists: 3 agents at once against the scripted server (``--latency`` per request), each
   making 6 tool calls and answering. Without: the calls go to a tool server the run has
   anyway (the tests' demo MCP server, ``echo``, started before the clock). With: each
   agent's own file servers are started (``GuardedToolHub``), each call writes a file in its
   workspace, then each answer is snapshotted and every view rebuilt.

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

from runtime.agent import Agent, AgentConfig  # noqa: E402
from runtime.client import ChatClient  # noqa: E402
from runtime.tools import ServerSpec, ToolHub  # noqa: E402
from runtime.workspaces import GuardedToolHub, RunWorkspaces, file_servers  # noqa: E402
from tests.scripted_llm import Reply, ScriptedLLM, call  # noqa: E402

DEMO = REPO / "tests" / "agents" / "mcp_demo_server.py"

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


def _scripted_step(body: dict[str, object]) -> Reply:
    """6 tool calls, then an answer; the tool and path come from the system prompt."""
    messages = body["messages"]
    assert isinstance(messages, list)
    done = sum(1 for m in messages if m.get("role") == "tool")
    system = str(messages[0]["content"])
    if done >= 6:
        return Reply(content="done")
    if system.startswith("WORKSPACE="):
        path = f"{system.removeprefix('WORKSPACE=')}/file{done}.txt"
        return Reply(tool_calls=[call("workspace__write_file", {"path": path, "content": "x"})])
    return Reply(tool_calls=[call("demo__echo", {"text": "x"})])


async def _team(base: ServerSpec, root: Path, url: str, shared: ToolHub | None) -> float:
    """One 3-agent run: on ``shared`` (the tool server a run has anyway, started before),
    or with workspaces (``shared`` None): each agent's file servers started here."""
    start = time.perf_counter()
    ws = RunWorkspaces(root, workspace_agents=["a1", "a2", "a3"]) if shared is None else None

    async def one(agent: str, n: int) -> None:
        async with ChatClient(url, "scripted", timeout=60) as client:
            if ws is None:
                assert shared is not None
                config = AgentConfig(name=agent, system_prompt="plain")
                await Agent(client, hub=shared, config=config).run("go")
                return
            await asyncio.to_thread(ws.view_for, agent)
            access = ws.access(agent, "coordination")
            servers = file_servers(base, access)
            async with GuardedToolHub(servers.specs, access=access) as hub:
                config = AgentConfig(
                    name=agent,
                    system_prompt=f"WORKSPACE={ws.workspace(agent)}",
                    tool_filter=servers.tool_filter,
                )
                await Agent(client, hub=hub, config=config).run("go")
            await asyncio.to_thread(ws.on_new_answer, agent, f"agent{n}")

    await asyncio.gather(*(one(f"a{n}", n) for n in (1, 2, 3)))
    if ws is not None:
        for agent in ("a1", "a2", "a3"):
            await asyncio.to_thread(ws.view_for, agent)
    return time.perf_counter() - start


async def _pairs(base: ServerSpec, root: Path, url: str, pairs: int) -> tuple[float, float]:
    plain, with_ws = [], []
    demo = ServerSpec(name="demo", command=(sys.executable, str(DEMO)))
    async with ToolHub([demo]) as shared:
        for i in range(pairs):
            plain.append(await _team(base, root / f"p{i}", url, shared))
            with_ws.append(await _team(base, root / f"w{i}", url, None))
    return statistics.median(plain), statistics.median(with_ws)


def bench_team(base: ServerSpec, root: Path, latency: float, pairs: int) -> tuple[float, float]:
    with ScriptedLLM(latency=latency, default=_scripted_step) as llm:
        return asyncio.run(_pairs(base, root, llm.url, pairs))


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
    parser.add_argument("--latency", type=float, default=0.2, help="scripted server, seconds")
    parser.add_argument("--pairs", type=int, default=3, help="team runs with/without")
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
        plain, with_ws = bench_team(base, tmp / "team", args.latency, args.pairs)
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
    print(f"| 3 agents x 7 requests, plain tool server, wall | {plain:.3f} s | | |")
    print(
        f"| same with workspaces (file servers, writes, snapshots, views) | {with_ws:.3f} s | | |"
    )
    ratio = with_ws / plain
    print(f"| ratio with / without | {ratio:.2f} | <= 1.2 | {'yes' if ratio <= 1.2 else 'no'} |")


if __name__ == "__main__":
    main()
