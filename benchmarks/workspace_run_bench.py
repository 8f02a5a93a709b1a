"""A 3-agent ``mgx run`` with workspaces against the same run without (issue 12: <= 1.2x).

The same team (3 agents on one scripted OpenAI-compatible server, ``--latency`` seconds per
request) runs the whole protocol through ``runtime.teams.run_team``: each agent answers,
then votes, and the winner presents. Without workspaces the agents have no tools. With
workspaces (``cwd`` on every agent) each agent first writes a file with the real filesystem
MCP server (installed and locked through the marketplace, from npm), its answer is
snapshotted, views are rebuilt at each restart, the presenter gets the winner's files, and
``finish`` cleans up. So the "with" run also makes one more request per agent (the write).

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

from marketplace._fs import atomic_write  # noqa: E402
from marketplace.installers import install_package, resolve_package  # noqa: E402
from marketplace.invocation import store_server_json  # noqa: E402
from marketplace.lockfile import LockedTool, Lockfile, dumps  # noqa: E402
from marketplace.settings import Settings  # noqa: E402
from registry_cache.serverjson import parse_server  # noqa: E402
from runtime.teams import FilesOptions, RunSettings, parse_team, run_team  # noqa: E402
from runtime.workspaces import FILESYSTEM_SERVER  # noqa: E402
from tests.coordination.conftest import answers_in, new_answer, presenting, vote  # noqa: E402
from tests.scripted_llm import Reply, ScriptedLLM, call  # noqa: E402
from tests.workspaces.conftest import FS_VERSION, _curated_filesystem_server  # noqa: E402


def project(home: Path) -> tuple[Settings, Path]:
    settings = Settings.from_env({"MGX_HOME": str(home)})
    server = parse_server(_curated_filesystem_server())
    package = resolve_package(server, server.packages[0], settings=settings)
    install_package(package, settings=settings)
    root = home / "project"
    root.mkdir()
    (root / "mgx.toml").write_text(f'[tools]\n"{FILESYSTEM_SERVER}" = "{FS_VERSION}"\n')
    tool = LockedTool(
        name=FILESYSTEM_SERVER,
        version=FS_VERSION,
        registry="",
        package=package,
        server_json=store_server_json(settings, server.raw),
    )
    atomic_write(root / "mgx.lock", dumps(Lockfile(tools={FILESYSTEM_SERVER: tool})))
    return settings, root


def script(body: dict[str, Any]) -> Reply:
    system = body["messages"][0]["content"]
    marker = next((w for w in system.split() if w.startswith("ME=")), "ME=?")
    if presenting(body):
        return Reply(content="final")
    answers = answers_in(body)
    if any(marker in a for a in answers.values()):
        return vote(next(iter(answers)))
    done = any(m["role"] == "tool" for m in body["messages"][2:])
    if "(read and write): your workspace" in system and not done:
        mine = system.split("- ", 1)[1].split(" (read and write)")[0]
        path = f"{mine}/out.txt"
        return Reply(tool_calls=[call("workspace__write_file", {"path": path, "content": "x"})])
    return new_answer(f"answer {marker}")


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
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings, root = project(Path(tmp))
        plain: list[float] = []
        with_ws: list[float] = []
        with ScriptedLLM(latency=args.latency, default=script) as llm:
            asyncio.run(one(llm.url, True, settings, root))  # warm-up (node's file cache)
            for _ in range(args.pairs):
                plain.append(asyncio.run(one(llm.url, False, settings, root)))
                with_ws.append(asyncio.run(one(llm.url, True, settings, root)))
    a, b = statistics.median(plain), statistics.median(with_ws)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}\n")
    print("| measure | result |\n|---|---|")
    print(f"| 3-agent `mgx run`, no workspaces, wall (median of {args.pairs}) | {a:.3f} s |")
    print(f"| same team with workspaces (`cwd` on every agent), wall | {b:.3f} s |")
    print(f"| ratio with / without | {b / a:.2f} |")


if __name__ == "__main__":
    main()
