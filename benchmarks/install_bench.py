"""Install and sync benchmarks (issue 3); prints a markdown section for docs/benchmarks.md.

    .venv/bin/python benchmarks/install_bench.py [--runs 3] [--sync-runs 30] [--trials 50]

1. ``mgx tool sync --frozen`` with everything installed: median wall time of the real console
   script over ``--sync-runs`` runs (target <= 150 ms), and a run inside a network namespace
   with no interfaces (``unshare -n``) to show it needs no network at all.
2. Install wall time: ``mgx tool install`` (resolve + hash-locked install; ``--no-check``, plus
   the MCP start check reported apart) against the raw ``uv venv`` + ``uv pip install`` /
   ``npm install`` of the same package version, interleaved, warm caches, medians of ``--runs``
   (target: mgx <= 1.1 x raw + 0.2 s).
3. ``--trials`` kill -9 trials at random points: each picks install, update or remove and either
   a named commit point (``MGX_TEST_CRASH_AT``) or a random delay after which the real ``mgx``
   process is SIGKILLed; then it counts states that are not consistent (target 0).

Needs PyPI and npm (section 2 and the setup of 1); section 3 runs on loopback only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent
MGX = str(BIN / "mgx")
UV = shutil.which("uv", path=str(BIN)) or "uv"
TIME = "io.github.modelcontextprotocol/server-time"
EVERYTHING = "io.github.modelcontextprotocol/server-everything"
OFFICIAL = "io.modelcontextprotocol.registry/official"


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], check: bool = True) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}")
    return took


def serve_registry(root: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    from registry_cache.serverjson import parse_server
    from registry_cache.store import Cache
    from tests.lock.conftest import server_doc

    docs = [
        server_doc(
            TIME,
            "2025.9.25",
            [
                {
                    "registryType": "pypi",
                    "identifier": "mcp-server-time",
                    "version": "2025.9.25",
                    "transport": {"type": "stdio"},
                }
            ],
            published="2025-09-26T00:00:00Z",
            latest=True,
        ),
        server_doc(
            EVERYTHING,
            "2025.9.25",
            [
                {
                    "registryType": "npm",
                    "identifier": "@modelcontextprotocol/server-everything",
                    "version": "2025.9.25",
                    "transport": {"type": "stdio"},
                }
            ],
            published="2025-09-26T00:00:00Z",
            latest=True,
        ),
    ]
    cache = root / "registry.sqlite3"
    with Cache(cache) as c:
        c.upsert("bench", [parse_server(d) for d in docs])
    proc = subprocess.Popen(
        [
            MGX,
            "registry",
            "serve",
            "--cache",
            str(cache),
            "--registry",
            "bench",
            "--port",
            "0",
            "-q",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    url = re.search(r"at (http://\S+)", proc.stderr.readline())
    if url is None:
        raise SystemExit("mgx registry serve did not start")
    for args in (["remove", "official"], ["add", "bench", url.group(1)], ["sync", "bench"]):
        run([MGX, "registry", *args], cwd=root, env=env)
    return proc


def bench_install(root: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    out: dict[str, list[float]] = {
        k: [] for k in ("mgx_pypi", "uv", "check_pypi", "mgx_npm", "npm", "check_npm")
    }
    project = root / "project"
    project.mkdir()
    cases = [
        ("pypi", "mcp-server-time", TIME),
        ("npm", "@modelcontextprotocol/server-everything", EVERYTHING),
    ]
    for i in range(runs + 1):  # the first round warms the caches and is not counted
        for kind, name, full in cases:
            took = run([MGX, "tool", "install", name, "--no-check"], cwd=project, env=env)
            check = run([MGX, "tool", "check", full], cwd=project, env=env)
            run([MGX, "tool", "remove", full], cwd=project, env=env)
            raw_dir = root / f"raw-{kind}-{i}"
            raw_dir.mkdir()
            if kind == "pypi":
                started = time.perf_counter()
                run([UV, "venv", "-q", str(raw_dir / "venv")], cwd=raw_dir, env=env)
                run(
                    [
                        UV,
                        "pip",
                        "install",
                        "-q",
                        "-p",
                        str(raw_dir / "venv"),
                        "mcp-server-time==2025.9.25",
                    ],
                    cwd=raw_dir,
                    env=env,
                )
                raw = time.perf_counter() - started
            else:
                raw = run(
                    [
                        "npm",
                        "install",
                        "--prefix",
                        str(raw_dir),
                        "--no-audit",
                        "--no-fund",
                        "--ignore-scripts",
                        "@modelcontextprotocol/server-everything@2025.9.25",
                    ],
                    cwd=raw_dir,
                    env=env,
                )
            shutil.rmtree(raw_dir)
            if i:
                out[f"mgx_{kind}"].append(took)
                out["uv" if kind == "pypi" else "npm"].append(raw)
                out[f"check_{kind}"].append(check)
    return {k: statistics.median(v) for k, v in out.items()}


def bench_sync(root: Path, env: dict[str, str], runs: int) -> tuple[float, float, bool]:
    project = root / "project"
    for name in ("mcp-server-time", "@modelcontextprotocol/server-everything"):
        run([MGX, "tool", "install", name, "--no-check"], cwd=project, env=env)
    times = [run([MGX, "tool", "sync", "--frozen"], cwd=project, env=env) for _ in range(runs)]
    # No network at all: a namespace without interfaces (not even loopback).
    isolated = (
        shutil.which("unshare") is not None
        and subprocess.run(
            ["unshare", "-n", MGX, "tool", "sync", "--frozen"],
            cwd=project,
            env=env,
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    return statistics.median(times), min(times), isolated


# --- kill -9 trials -----------------------------------------------------------------------------


def crash_trials(trials: int, seed: int) -> tuple[int, int, list[str]]:
    from marketplace import commands
    from marketplace.installers import is_installed, tool_dir
    from marketplace.lockfile import read_lock, unsatisfied
    from marketplace.manifest import read_manifest
    from marketplace.project import find_project
    from marketplace.registries import add_registry, get_registry, remove_registry
    from marketplace.settings import Settings
    from marketplace.sync import sync_registry
    from marketplace.transaction import CRASH_POINTS
    from registry_cache.server import serving
    from registry_cache.serverjson import parse_server
    from registry_cache.store import Cache
    from tests.lock.conftest import Files, make_bundle, server_doc

    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="mgx-crash-"))
    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")  # `python` with the mcp SDK
    files = Files()
    docs = []
    for name, versions in (
        ("io.github.bench/echo", ["1.0.0", "1.1.0"]),
        ("io.github.bench/other", ["0.5.0"]),
    ):
        for i, version in enumerate(versions):
            body = make_bundle(version)
            path = f"/{name.rsplit('/', 1)[1]}-{version}.mcpb"
            files.files[path] = body
            package = {
                "registryType": "mcpb",
                "identifier": files.url + path,
                "fileSha256": hashlib.sha256(body).hexdigest(),
                "transport": {"type": "stdio"},
            }
            docs.append(server_doc(name, version, [package], latest=i == len(versions) - 1))
    with Cache(work / "registry.sqlite3") as cache:
        cache.upsert("bench", [parse_server(d) for d in docs])
    inconsistent: list[str] = []
    killed = 0
    with serving(work / "registry.sqlite3", registry="bench") as server:
        home = work / "base-home"
        settings = Settings.from_env({"MGX_HOME": str(home)})
        remove_registry(settings, "official")
        add_registry(settings, "bench", server.url)
        sync_registry(settings, get_registry(settings, "bench"), full=True)
        base = work / "base-proj"
        base.mkdir()
        os.environ["PATH"] = env["PATH"]
        project = find_project(base, create=True, settings=settings)
        commands.install(project, "io.github.bench/echo", "1.0.0", check=False)
        project.manifest_path.write_text(
            project.manifest_path.read_text().replace('"1.0.0"', '"^1.0"')
        )
        ops = {
            "install": ["tool", "install", "io.github.bench/other"],
            "update": ["tool", "update"],
            "remove": ["tool", "remove", "io.github.bench/echo"],
        }
        for n in range(trials):
            trial = work / f"t{n}"
            shutil.copytree(base, trial / "proj", symlinks=True)
            shutil.copytree(home, trial / "home", symlinks=True)
            shutil.rmtree(trial / "home" / "state" / "tool-refs", ignore_errors=True)
            tenv = {**env, "MGX_HOME": str(trial / "home")}
            op = rng.choice(sorted(ops))
            how = ""
            if rng.random() < 0.5:
                point = rng.choice(CRASH_POINTS)
                how = f"{op}@{point}"
                tenv["MGX_TEST_CRASH_AT"] = point
                done = subprocess.run(
                    [MGX, *ops[op]], cwd=trial / "proj", env=tenv, capture_output=True, check=False
                )
                killed += done.returncode == -signal.SIGKILL
            else:
                delay = rng.uniform(0.0, 3.0)
                how = f"{op}+{delay:.2f}s"
                proc = subprocess.Popen(
                    [MGX, *ops[op]],
                    cwd=trial / "proj",
                    env=tenv,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    proc.wait(delay)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    killed += 1
            tset = Settings.from_env({"MGX_HOME": str(trial / "home")})
            tproj = trial / "proj"
            problems = []
            lock = read_lock(tproj / "mgx.lock")
            if lock is None or not all(is_installed(tset, t.package) for t in lock.tools.values()):
                problems.append("lock names a tool that is not installed")
            env2 = {k: v for k, v in tenv.items() if k != "MGX_TEST_CRASH_AT"}
            subprocess.run(
                [MGX, "tool", "list", "--json"],
                cwd=tproj,
                env=env2,
                capture_output=True,
                check=False,
            )
            lock = read_lock(tproj / "mgx.lock")
            if unsatisfied(read_manifest(tproj / "mgx.toml"), lock):
                problems.append("lock does not satisfy manifest after recovery")
            if (
                subprocess.run(
                    [MGX, "tool", "sync", "--frozen"],
                    cwd=tproj,
                    env=env2,
                    capture_output=True,
                    check=False,
                ).returncode
                != 0
            ):
                problems.append("sync --frozen failed")
            if tset.staging_dir.exists() and any(tset.staging_dir.iterdir()):
                problems.append("staging debris left")
            assert lock is not None
            wanted = {tool_dir(tset, t.package).name for t in lock.tools.values()}
            if {p.name for p in tset.tools_dir.iterdir()} != wanted:
                problems.append("unused install directory left")
            if problems:
                inconsistent.append(f"{how}: {'; '.join(problems)}")
            shutil.rmtree(trial)
    files.close()
    shutil.rmtree(work, ignore_errors=True)
    return killed, len(inconsistent), inconsistent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sync-runs", type=int, default=30)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--skip-network", action="store_true")
    opts = parser.parse_args()

    rows = []
    if not opts.skip_network:
        root = Path(tempfile.mkdtemp(prefix="mgx-bench-"))
        env = {**os.environ, "MGX_HOME": str(root / "home")}
        env.pop("MGX_PROJECT", None)
        registry = serve_registry(root, env)
        try:
            inst = bench_install(root, env, opts.runs)
            median, best, isolated = bench_sync(root, env, opts.sync_runs)
        finally:
            os.killpg(registry.pid, signal.SIGTERM)
            registry.wait(10)
            shutil.rmtree(root, ignore_errors=True)
        rows.append(
            (
                f"`mgx tool sync --frozen`, 2 tools installed (median / best of {opts.sync_runs})",
                f"{median * 1000:.0f} ms / {best * 1000:.0f} ms",
                "<= 150 ms",
                "yes" if median <= 0.150 else "no",
            )
        )
        rows.append(
            (
                "same, in a network namespace with no interfaces (`unshare -n`)",
                "succeeds" if isolated else "FAILED",
                "zero network",
                "yes" if isolated else "no",
            )
        )
        for kind, raw_key, raw_name in (
            ("pypi", "uv", "`uv venv` + `uv pip install`"),
            ("npm", "npm", "`npm install`"),
        ):
            mgx, raw = inst[f"mgx_{kind}"], inst[raw_key]
            limit = 1.1 * raw + 0.2
            rows.append((f"{kind}: raw {raw_name}", f"{raw:.2f} s", "", ""))
            rows.append(
                (
                    f"{kind}: `mgx tool install --no-check` (resolve + locked install)",
                    f"{mgx:.2f} s ({mgx / raw:.2f} x)",
                    f"<= {limit:.2f} s",
                    "yes" if mgx <= limit else "no",
                )
            )
            rows.append(
                (
                    f"{kind}: `mgx tool check` (MCP start check, run by install)",
                    f"{inst[f'check_{kind}']:.2f} s",
                    "",
                    "",
                )
            )
    killed, bad, details = crash_trials(opts.trials, opts.seed)
    rows.append(
        (
            f"kill -9 trials ({opts.trials}; {killed} processes killed mid-way)",
            f"{bad} inconsistent",
            "0",
            "yes" if bad == 0 else "no",
        )
    )
    print("| measure | result | target | met |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for line in details:
        print(f"- {line}")
    print(
        json.dumps({"trials": opts.trials, "killed": killed, "inconsistent": bad}), file=sys.stderr
    )


if __name__ == "__main__":
    main()
