"""Local usage tracking through real tool calls: the demo MCP server behind real ToolHubs,
a real SQLite file in mgx's state directory, concurrent writers, and the switches that turn
it off. ``MGX_HOME`` is a fresh directory per test (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from marketplace.settings import Settings
from marketplace.usage import UsageRecorder, UsageStore
from runtime.tools import ToolHub
from tests.agents.conftest import demo_spec

MGX = [sys.executable, "-c", "import sys; from runtime.entry import main; sys.exit(main())"]


def _store() -> UsageStore:
    return UsageStore.for_settings(Settings.from_env())


async def _session(name: str, calls: list[tuple[str, dict[str, object]]], tmp: Path) -> None:
    async with ToolHub([demo_spec(name)], log_dir=tmp / name, call_timeout=30) as hub:
        for tool, args in calls:
            await hub.call(f"{name}__{tool}", args)


async def test_two_hubs_at_once_are_counted(tmp_path: Path) -> None:
    secret = "argument-text-that-must-not-be-stored-7c1d"
    await asyncio.gather(
        _session(
            "alpha",
            [("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4}), ("echo", {"text": secret})],
            tmp_path,
        ),
        _session("beta", [("fail", {"message": "boom"}), ("add", {"a": 1, "b": 1})], tmp_path),
    )
    rows = {(r.server, r.tool): r for r in _store().summary()}
    assert {k: (r.calls, r.errors) for k, r in rows.items()} == {
        ("alpha", "add"): (2, 0),
        ("alpha", "echo"): (1, 0),
        ("beta", "fail"): (1, 1),
        ("beta", "add"): (1, 0),
    }
    add = rows[("alpha", "add")]
    assert 0 < add.p50_ms <= add.p95_ms and add.last_used.endswith("+00:00")
    # Two hubs, two sessions; each session names only the servers it used.
    assert sorted(map(sorted, _store().sessions().values())) == [["alpha"], ["beta"]]
    # Neither arguments nor results reach the disk.
    for path in Settings.from_env().state_dir.glob("usage.sqlite3*"):
        assert secret.encode() not in path.read_bytes()
        assert b"boom" not in path.read_bytes()


async def test_mgx_no_usage_records_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MGX_NO_USAGE", "1")
    await _session("alpha", [("add", {"a": 1, "b": 2})], tmp_path)
    assert not _store().path.exists()
    assert _store().summary() == []


async def test_config_switch_turns_it_off(tmp_path: Path) -> None:
    settings = Settings.from_env()
    settings.config_dir.mkdir(parents=True, exist_ok=True)
    settings.config_file.write_text("[usage]\nenabled = false\n")
    await _session("alpha", [("add", {"a": 1, "b": 2})], tmp_path)
    assert not _store().path.exists()


WRITER = """
import sys, time
from pathlib import Path
from marketplace.usage import UsageStore
store, go, name = UsageStore(Path(sys.argv[1])), Path(sys.argv[2]), sys.argv[3]
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
for batch in range(40):
    store.add([(time.time(), name, name, "t", 0, 1.0)] * 25)
"""


def test_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    db, go = tmp_path / "usage.sqlite3", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), str(go), f"w{i}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        go.touch()  # all three start writing together
        for proc in procs:
            assert proc.wait(120) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    rows = UsageStore(db).summary()
    assert sorted((r.server, r.calls) for r in rows) == [("w0", 1000), ("w1", 1000), ("w2", 1000)]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_recording_costs_under_a_fifth_of_a_millisecond(tmp_path: Path) -> None:
    recorder = UsageRecorder(UsageStore(tmp_path / "u.sqlite3"))
    n = 120_000  # more than two buffers' worth: two background writes, then the flush
    start = time.perf_counter()
    for _ in range(n):
        recorder.record("server", "tool", error=False, seconds=0.01)
    per_call = (time.perf_counter() - start) / n
    assert per_call < 0.2e-3, per_call
    recorder.flush()
    assert sum(r.calls for r in recorder.store.summary()) == n  # type: ignore[union-attr]


def test_usage_cli_json_table_and_since(tmp_path: Path) -> None:
    recorder = UsageRecorder.from_env()
    recorder.record("time", "get_current_time", error=False, seconds=0.010)
    recorder.record("time", "get_current_time", error=True, seconds=0.030)
    recorder.flush()
    env = {**os.environ}
    done = subprocess.run(
        [*MGX, "tool", "usage", "--json"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert (row["server"], row["tool"], row["calls"], row["errors"]) == (
        "time",
        "get_current_time",
        2,
        1,
    )
    assert row["p50_ms"] == pytest.approx(10.0) and row["p95_ms"] == pytest.approx(30.0)
    table = subprocess.run([*MGX, "tool", "usage"], capture_output=True, text=True, env=env)
    assert "get_current_time" in table.stdout
    later = subprocess.run(
        [*MGX, "tool", "usage", "--since", "2099-01-01", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert json.loads(later.stdout) == []
    bad = subprocess.run(
        [*MGX, "tool", "usage", "--since", "yesterday"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2 and "--since" in bad.stderr
