"""A 3-agent ``mgx run`` with workspaces against the same run without (issue 12: <= 1.2x).

The same team (3 agents on one scripted OpenAI-compatible server, ``--latency`` seconds per
request) runs the whole protocol through ``runtime.teams.run_team``: each agent answers,
then votes, and the winner presents. With workspaces (``cwd`` on every agent) each agent's
working turn writes a file with the real filesystem MCP server (installed from npm and
locked through the marketplace, its tools pinned as ``mgx tool install`` pins them), its
answer is snapshotted, views are rebuilt at each restart, the presenter gets the winner's
files, and ``finish`` cleans up. Without workspaces the agents have no tools and their
working turn is text, which the loop answers with its reminder: both runs make the same
model requests (counted and printed), so the ratio is what workspaces cost.

``--no-pins`` locks the server without pinned tools (as ``--no-check`` leaves it): the
agents' tool list then needs a started server, so the file servers start before the run.

Run: ``.venv/bin/python benchmarks/workspace_run_bench.py [--pairs 3] [--latency 0.2]``.
Prints Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from marketplace.settings import Settings  # noqa: E402
from runtime.prompts import COORDINATION_REMINDER  # noqa: E402
from runtime.teams import FilesOptions, RunSettings, parse_team, run_team  # noqa: E402
from tests.coordination.conftest import answers_in, new_answer, presenting, vote  # noqa: E402
from tests.scripted_llm import Reply, ScriptedLLM, call  # noqa: E402
from tests.workspaces.conftest import lock_filesystem_server  # noqa: E402


def project(home: Path, *, pin: bool = True) -> tuple[Settings, Path]:
    settings = Settings.from_env({"MGX_HOME": str(home)})
    root = home / "project"
    root.mkdir()
    lock_filesystem_server(settings, root, pin=pin)
    return settings, root


def script(body: dict[str, Any]) -> Reply:
    """Each agent's round: one working turn, then its answer; once an answer exists, a vote
    for the first one. With a workspace the working turn writes ``out.txt`` with the file
    server; without, it is text, which the loop answers with its reminder. So both runs
    make the same model requests (3 working turns, 3 answers, 3 votes, the presentation;
    fewer where the first answer cuts a round short), and the difference is what workspaces
    cost. Voting for the first answer keeps the count from depending on timing: agents that
    answer again after every restart make it vary from run to run."""
    system = body["messages"][0]["content"]
    marker = next((w for w in system.split() if w.startswith("ME=")), "ME=?")
    if presenting(body):
        return Reply(content="final")
    answers = answers_in(body)
    if answers:
        return vote(next(iter(answers)))
    later = body["messages"][2:]
    if any(m["role"] == "tool" or m.get("content") == COORDINATION_REMINDER for m in later):
        return new_answer(f"answer {marker}")
    mine = [
        line for line in system.splitlines() if line.endswith("(read and write): your workspace")
    ]
    if mine:
        path = mine[0].removeprefix("- ").split(" (read and write)")[0] + "/out.txt"
        return Reply(tool_calls=[call("workspace__write_file", {"path": path, "content": "x"})])
    return Reply(content="Working on it; my answer follows.")


def team(url: str, files: bool) -> Any:
    agents = [
        {
            "id": f"a{i}",
            "system_message": f"ME=a{i}",
            "backend": {"type": "vllm", "model": "scripted", "base_url": url}
            | ({"cwd": f"ws{i}"} if files else {}),
        }
        for i in (1, 2, 3)
    ]
    return parse_team({"agents": agents})


async def one(url: str, files: bool, settings: Settings, root: Path) -> float:
    start = time.perf_counter()
    run = RunSettings(project_dir=root, files=FilesOptions())
    outcome = await run_team("go", team(url, files), settings=settings, run=run)
    assert outcome.answer == "final", outcome.answer
    if files:  # the winner's write reached the final workspace (a failed write would not)
        assert outcome.team is not None and outcome.team.workspace is not None
        final = Path(outcome.team.workspace["final_workspace"])
        assert (final / "out.txt").read_text() == "x", sorted(final.iterdir())
    return time.perf_counter() - start


def timed(llm: ScriptedLLM, files: bool, settings: Settings, root: Path) -> tuple[float, int]:
    """One run's wall time and how many model requests it made."""
    before = len(llm.requests)
    wall = asyncio.run(one(llm.url, files, settings, root))
    return wall, len(llm.requests) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--no-pins", action="store_true", help="lock without pinned tools")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        settings, root = project(Path(tmp), pin=not args.no_pins)
        plain: list[tuple[float, int]] = []
        with_ws: list[tuple[float, int]] = []
        with ScriptedLLM(latency=args.latency, default=script) as llm:
            timed(llm, True, settings, root)  # warm-up (node's file cache)
            for _ in range(args.pairs):
                plain.append(timed(llm, False, settings, root))
                with_ws.append(timed(llm, True, settings, root))
    a = statistics.median(w for w, _ in plain)
    b = statistics.median(w for w, _ in with_ws)
    requests = sorted({n for _, n in plain}), sorted({n for _, n in with_ws})
    pins = "no pins (servers start before the run)" if args.no_pins else "tools pinned"
    print(f"latency {args.latency:g} s per request, {pins}")
    print(f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f}\n")
    print("| measure | result |\n|---|---|")
    print(f"| 3-agent `mgx run`, no workspaces, wall (median of {args.pairs}) | {a:.3f} s |")
    print(f"| same team with workspaces (`cwd` on every agent), wall | {b:.3f} s |")
    print(f"| ratio with / without | {b / a:.2f} |")
    print(f"| model requests per run, without / with | {requests[0]} / {requests[1]} |")


if __name__ == "__main__":
    main()
