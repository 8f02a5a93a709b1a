"""Registry and search benchmark (issue 2).

Generates a synthetic registry of 10,000 servers x 3 versions, serves it with
``mgx registry serve`` (a real subprocess), and measures:

* full sync (``mgx registry sync``, a fresh MGX_HOME each run),
* incremental no-change sync,
* in-process search p50/p99 over the synced cache (``Cache.search`` and ``Catalog.search``),
* cold ``mgx tool search`` wall time (a new process each run),
* ``mgx --help`` wall time,

and writes the figures into the "Registry and search (issue 2)" section of
``docs/benchmarks.md``. Targets: search p50 <= 10 ms; cold search <= 300 ms; full sync
<= 15 s; no-change sync <= 1 s.

    python benchmarks/registry_bench.py [--servers 10000] [--versions 3] [--runs 5] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from registry_cache.serverjson import OFFICIAL_META, SCHEMA_URL, parse_server  # noqa: E402
from registry_cache.store import Cache  # noqa: E402

WORDS = (
    "weather github slack postgres redis kafka files search browser notion jira linear "
    "calendar email sheets docs drive maps translate image audio video pdf markdown sql "
    "vector memory time fetch scrape crawl shell docker kubernetes aws azure gcp stripe "
    "shopify twitter reddit youtube spotify finance stocks crypto news weather sports "
    "health fitness recipes travel flights hotels music podcast notes tasks todo wiki "
    "analytics metrics logs traces alerts deploy ci build test lint format security scan"
).split()
START = datetime(2025, 6, 1)
QUERIES = [
    "weather",
    "postgres",
    "slack",
    "kafka stream",
    "pdf",
    "browser automation",
    "vector memory",
    "time",
    "github issues",
    "kubernetes deploy",
    "stripe",
    "notes",
    "calendar email",
    "server-00042",
    "io.github.org7",
]


def _mgx() -> list[str]:
    script = Path(sys.executable).parent / "mgx"
    return [str(script)] if script.exists() else [sys.executable, "-m", "runtime.cli"]


def synthetic_docs(servers: int, versions: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    docs = []
    kinds = ("npm", "pypi", "oci", "remote")
    for i in range(servers):
        name = f"io.github.org{i % 500}/server-{i:05d}"
        words = rng.sample(WORDS, 6)
        title = " ".join(w.capitalize() for w in words[:2])
        description = f"MCP server for {words[0]} and {words[1]}: {' '.join(words[2:])}."
        kind = kinds[i % len(kinds)]
        for v in range(versions):
            version = f"1.{v}.0"
            # updatedAt grows with (server, version) so a sync's watermark is meaningful
            minute = i * versions + v
            stamp = (START + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")
            server: dict[str, Any] = {
                "$schema": SCHEMA_URL,
                "name": name,
                "title": title,
                "description": description[:100],
                "version": version,
                "repository": {
                    "url": f"https://github.com/org{i % 500}/server-{i:05d}",
                    "source": "github",
                },
            }
            if kind == "remote":
                server["remotes"] = [
                    {"type": "streamable-http", "url": f"https://s{i}.example.com/mcp"}
                ]
            else:
                ident = {
                    "npm": f"@org{i % 500}/{words[0]}-mcp",
                    "pypi": f"{words[0]}-mcp-{i}",
                    "oci": f"ghcr.io/org{i % 500}/{words[0]}:{version}",
                }[kind]
                server["packages"] = [
                    {
                        "registryType": kind,
                        "identifier": ident,
                        **({"version": version} if kind != "oci" else {}),
                        "transport": {"type": "stdio"},
                        "environmentVariables": [
                            {
                                "name": f"{words[0].upper()}_TOKEN",
                                "isSecret": True,
                                "isRequired": True,
                            }
                        ],
                    }
                ]
            meta = {
                OFFICIAL_META: {
                    "status": "active",
                    "publishedAt": stamp,
                    "updatedAt": stamp,
                    "isLatest": v == versions - 1,
                }
            }
            docs.append({"server": server, "_meta": meta})
    return docs


# Run in a new process: the phases of `mgx tool search weather` (ms), as JSON on stderr.
BREAKDOWN = """
import json, sys, time
t0 = time.perf_counter()
import runtime.cli
t1 = time.perf_counter()
from pydantic import TypeAdapter
TypeAdapter(int)
t2 = time.perf_counter()
from marketplace.catalog import Catalog
t3 = time.perf_counter()
with Catalog() as catalog:
    hits = catalog.search("weather")
t4 = time.perf_counter()
from marketplace.cli.output import table
table(["NAME", "VERSION", "TYPES", "DESCRIPTION"],
      [[h.name, h.version, ",".join(h.package_types), h.description] for h in hits],
      no_wrap=("NAME", "VERSION", "TYPES"), one_line=("DESCRIPTION",))
t5 = time.perf_counter()
ms = lambda a, b: round((b - a) * 1000, 2)
print(json.dumps({"import_cli": ms(t0, t1), "pydantic": ms(t1, t2), "import_catalog": ms(t2, t3),
                  "search": ms(t3, t4), "table": ms(t4, t5)}), file=sys.stderr)
"""


def wall(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        out.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {result.stderr}")
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5, help="no-change syncs to time")
    parser.add_argument("--wall-runs", type=int, default=11, help="runs per command timing")
    parser.add_argument("--sync-runs", type=int, default=3, help="full syncs to time")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mgx-registry-bench-"))
    # Installed packages have their bytecode compiled (pip and uv do it); measure mgx the same
    # way even where the environment says not to write .pyc files.
    skip = ("MGX_OFFLINE", "PYTHONDONTWRITEBYTECODE")
    base_env = {k: v for k, v in os.environ.items() if k not in skip}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "marketplace", "registry_cache", "runtime"],
        cwd=REPO,
        env=base_env,
        check=False,  # a file being edited elsewhere must not stop the benchmark
    )
    results: dict[str, Any] = {}
    server = None
    try:
        # 1. the upstream registry: a cache file with the synthetic data
        t0 = time.perf_counter()
        docs = synthetic_docs(args.servers, args.versions)
        upstream = work / "upstream.sqlite3"
        with Cache(upstream) as cache:
            for offset in range(0, len(docs), 1000):
                batch = docs[offset : offset + 1000]
                cache.upsert("synthetic", [parse_server(d) for d in batch])
            total = cache.count("synthetic")
        print(f"generated {total} versions in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

        # 2. serve it with `mgx registry serve` (a real subprocess)
        server = subprocess.Popen(
            [
                *_mgx(),
                "registry",
                "serve",
                "--cache",
                str(upstream),
                "--registry",
                "synthetic",
                "--port",
                "0",
                "--quiet",
            ],
            env={**base_env, "MGX_HOME": str(work / "server-home")},
            stderr=subprocess.PIPE,
            text=True,
        )
        line = server.stderr.readline() if server.stderr else ""
        match = re.search(r" at (http://\S+)", line)
        if not match:
            raise SystemExit(f"registry serve did not start: {line}")
        url = match.group(1)

        # 3. full sync, a fresh MGX_HOME per run
        full_walls, full_internal, home = [], [], work / "client-0"
        for run in range(args.sync_runs):
            home = work / f"client-{run}"
            env = {**base_env, "MGX_HOME": str(home)}
            subprocess.run(
                [*_mgx(), "registry", "add", "synth", url], env=env, check=True, capture_output=True
            )
            subprocess.run(
                [*_mgx(), "registry", "remove", "official"],
                env=env,
                check=True,
                capture_output=True,
            )
            start = time.perf_counter()
            out = subprocess.run(
                [*_mgx(), "registry", "sync", "synth", "--json"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                timeout=600,
            )
            full_walls.append(time.perf_counter() - start)
            (summary,) = json.loads(out.stdout)
            assert summary["full"] and summary["servers"] == total, summary
            full_internal.append(summary["durationSeconds"])
        results["full_sync_wall"] = statistics.median(full_walls)
        results["full_sync_internal"] = statistics.median(full_internal)

        # 4. no-change incremental sync on the last client
        env = {**base_env, "MGX_HOME": str(home)}
        inc_walls, inc_internal = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            out = subprocess.run(
                [*_mgx(), "registry", "sync", "synth", "--json"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            inc_walls.append(time.perf_counter() - start)
            (summary,) = json.loads(out.stdout)
            assert not summary["full"] and summary["servers"] == 0, summary
            inc_internal.append(summary["durationSeconds"])
        results["nochange_sync_wall"] = statistics.median(inc_walls)
        results["nochange_sync_internal"] = statistics.median(inc_internal)

        # 5. in-process search over the synced cache
        os.environ["MGX_HOME"] = str(home)
        from marketplace.catalog import Catalog
        from marketplace.settings import Settings

        settings = Settings.from_env()
        with Cache(settings.cache_db) as cache:
            results["rows"] = cache.count()
            times = []
            for _ in range(20):
                for q in QUERIES:
                    start = time.perf_counter()
                    cache.search(q, limit=20)
                    times.append((time.perf_counter() - start) * 1000)
            filtered = []
            for _ in range(20):
                for q in QUERIES:
                    start = time.perf_counter()
                    cache.search(q, types=["pypi"], transport="stdio", limit=20)
                    filtered.append((time.perf_counter() - start) * 1000)
        results["search_p50"] = statistics.median(times)
        results["search_p99"] = percentile(times, 0.99)
        results["search_filtered_p50"] = statistics.median(filtered)
        with Catalog(settings, offline=True) as catalog:
            cat_times = []
            for _ in range(10):
                for q in QUERIES:
                    start = time.perf_counter()
                    catalog.search(q, limit=20)
                    cat_times.append((time.perf_counter() - start) * 1000)
        results["catalog_p50"] = statistics.median(cat_times)
        results["catalog_p99"] = percentile(cat_times, 0.99)

        # 6./7. new processes: cold search (30,000 rows, data fresh), search on the bundled
        # snapshot, a first search on an empty MGX_HOME, --help and the floor under them all.
        # The commands take turns, round after round, so background load hits them alike.
        warm_snapshot = {**base_env, "MGX_HOME": str(work / "fresh-snapshot"), "MGX_OFFLINE": "1"}
        subprocess.run([*_mgx(), "tool", "search", "x"], env=warm_snapshot, capture_output=True)
        commands = {
            "cold_search": ([*_mgx(), "tool", "search", "weather"], env),
            "snapshot_search": ([*_mgx(), "tool", "search", "time"], warm_snapshot),
            "help": ([*_mgx(), "--help"], base_env),
            "python": ([sys.executable, "-c", "pass"], base_env),
            "import_cli": ([sys.executable, "-c", "import runtime.cli"], base_env),
        }
        samples: dict[str, list[float]] = {key: [] for key in [*commands, "first_search"]}
        for run in range(args.wall_runs):
            for key, (cmd, cmd_env) in commands.items():
                samples[key].extend(wall(cmd, cmd_env, 1))
            fresh = {**base_env, "MGX_HOME": str(work / f"fresh-{run}"), "MGX_OFFLINE": "1"}
            samples["first_search"].extend(wall([*_mgx(), "tool", "search", "time"], fresh, 1))
        for key, values in samples.items():
            results[key] = statistics.median(values)
            results[key + "_min"] = min(values)

        # Where a cold search goes, phase by phase, in a new process each time.
        phases: dict[str, list[float]] = {}
        for _ in range(args.wall_runs):
            out = subprocess.run(
                [sys.executable, "-c", BREAKDOWN],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            for key, value in json.loads(out.stderr.strip().splitlines()[-1]).items():
                phases.setdefault(key, []).append(value)
        results["phases"] = {key: statistics.median(v) for key, v in phases.items()}
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
            if server.stderr:
                server.stderr.close()
        shutil.rmtree(work, ignore_errors=True)

    results["servers"], results["versions"] = args.servers, args.versions
    results["load"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    if not args.no_write:
        write_section(results, args.runs, args.sync_runs, args.wall_runs)
    return 0


def _ok(value: float, target: float) -> str:
    return "yes" if value <= target else "**no**"


def write_section(r: dict[str, Any], runs: int, sync_runs: int, wall_runs: int) -> None:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.0f} ms"

    rows = [
        (
            "full sync, `mgx registry sync` wall (library time)",
            f"{r['full_sync_wall']:.2f} s ({r['full_sync_internal']:.2f} s)",
            "<= 15 s",
            _ok(r["full_sync_wall"], 15),
        ),
        (
            "no-change incremental sync, wall (library time)",
            f"{ms(r['nochange_sync_wall'])} ({ms(r['nochange_sync_internal'])})",
            "<= 1 s",
            _ok(r["nochange_sync_wall"], 1),
        ),
        (
            "in-process search p50 / p99 (`Cache.search`)",
            f"{r['search_p50']:.2f} / {r['search_p99']:.2f} ms",
            "p50 <= 10 ms",
            _ok(r["search_p50"], 10),
        ),
        (
            "... with --type pypi --transport stdio, p50",
            f"{r['search_filtered_p50']:.2f} ms",
            "",
            "",
        ),
        (
            "`Catalog.search` p50 / p99 (offline)",
            f"{r['catalog_p50']:.2f} / {r['catalog_p99']:.2f} ms",
            "",
            "",
        ),
        (
            "cold `mgx tool search weather` (30,000 rows, fresh data)",
            f"{ms(r['cold_search'])} ({ms(r['cold_search_min'])})",
            "<= 300 ms",
            _ok(r["cold_search"], 0.3),
        ),
        (
            "cold `mgx tool search time` (bundled snapshot, offline)",
            f"{ms(r['snapshot_search'])} ({ms(r['snapshot_search_min'])})",
            "<= 300 ms",
            _ok(r["snapshot_search"], 0.3),
        ),
        (
            "first `mgx tool search` on an empty MGX_HOME (imports the snapshot)",
            f"{ms(r['first_search'])} ({ms(r['first_search_min'])})",
            "",
            "",
        ),
        ("`mgx --help`", f"{ms(r['help'])} ({ms(r['help_min'])})", "", ""),
        (
            "floor: `python -c pass` / `python -c 'import runtime.cli'`",
            f"{ms(r['python'])} / {ms(r['import_cli'])} ({ms(r['import_cli_min'])})",
            "",
            "",
        ),
    ]
    table = "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)
    p = r["phases"]
    section = f"""<!-- registry-bench:start -->
## Registry and search (issue 2)

`python benchmarks/registry_bench.py` (defaults): a synthetic registry of {r["servers"]:,} servers x
{r["versions"]} versions ({r["rows"]:,} rows in the client cache, with the bundled snapshot), served
by `mgx registry serve` in its own process on loopback; the client is the real `mgx` command.
Full sync: median of {sync_runs} runs, each into a fresh MGX_HOME; no-change sync: median of
{runs} runs; command timings: median (and minimum) of {wall_runs} new processes each, the commands
taking turns, with bytecode compiled as an installed package has it; in-process search:
15 queries x 20 rounds, top 20.

| measure | result | target | met |
|---|---|---|---|
{table}

Machine: 2 CPU cores shared with other work (load average {r["load"]:.1f} at the end of the run).
Where a cold `mgx tool search` goes (medians, ms, measured in new processes): importing the
command tree (typer, click, every command group) {p["import_cli"]:.0f}; typer 0.29 then coerces
each command parameter through a pydantic TypeAdapter, importing pydantic when a command runs:
{p["pydantic"]:.0f} (typer's cost, not worked around); mgx's own part: importing the catalog
{p["import_catalog"]:.0f}, opening the cache and one FTS5 query {p["search"]:.1f}, the rich table
{p["table"]:.0f}. Python itself starts in {ms(r["python"])}. Run from a checkout with
`PYTHONDONTWRITEBYTECODE=1` (as in the sandbox this was measured in), every command first compiles
mgx's own modules from source, roughly 50-60 ms more. `mgx --help` renders with rich through
typer. Full sync time is mostly parsing and validating 30,000 server.json documents and one
transaction per page of 100 (the official maximum); the server runs in its own process.
<!-- registry-bench:end -->
"""
    path = REPO / "docs" / "benchmarks.md"
    text = (
        path.read_text()
        if path.exists()
        else (
            "# Benchmarks\n\nSpeed and memory targets, measured by scripts under `benchmarks/`.\n"
        )
    )
    pattern = re.compile(
        r"<!-- registry-bench:start -->.*?<!-- registry-bench:end -->\n", re.DOTALL
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
    print(f"updated {path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
