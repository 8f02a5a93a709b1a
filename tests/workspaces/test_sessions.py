"""Sessions: one file per turn in mgx's state directory, the earlier turns as context, and the
earlier final workspace read-only for the next turn's agents."""

from __future__ import annotations

import json
import stat
import threading
import time
from pathlib import Path

import pytest

from marketplace.settings import Settings
from runtime.workspaces import (
    PathRefused,
    RunWorkspaces,
    SessionStore,
    WorkspaceConfigError,
    WorkspaceError,
)


@pytest.fixture
def store(mgx_home: Path) -> SessionStore:
    return SessionStore(Settings.from_env({"MGX_HOME": str(mgx_home)}))


def _turn_one(tmp_path: Path, store: SessionStore) -> RunWorkspaces:
    ws = RunWorkspaces(tmp_path / "run1", workspace_agents=("a1",))
    (ws.workspace("a1") / "app.py").write_text("print('v1')\n")  # type: ignore[operator]
    ws.on_new_answer("a1", "agent1")
    ws.prepare_presenter(winner_id="a1", presenter_id="a1")
    result = ws.finish()
    store.record(
        "web",
        task="write app.py",
        answer="app.py prints v1",
        workspace=result.final_workspace,
        started_at=time.time(),
        winner="a1",
    )
    return ws


def test_a_turn_is_one_file_and_a_read_only_workspace(
    tmp_path: Path, store: SessionStore, mgx_home: Path
) -> None:
    _turn_one(tmp_path, store)
    directory = mgx_home / "state" / "sessions" / "web"
    record = json.loads((directory / "turn_0001.json").read_text())
    assert record["task"] == "write app.py" and record["answer"] == "app.py prints v1"
    kept = Path(record["workspace"])
    assert kept == directory / "turn_0001" / "workspace"
    assert (kept / "app.py").read_text() == "print('v1')\n"
    assert stat.S_IMODE((kept / "app.py").stat().st_mode) == 0o444
    assert [t.number for t in store.turns("web")] == [1]
    assert store.names() == ["web"]
    assert store.turns("unknown") == []


def test_the_next_turn_sees_earlier_answers_and_workspace_read_only(
    tmp_path: Path, store: SessionStore
) -> None:
    _turn_one(tmp_path, store)
    context = store.context("web")
    assert "write app.py" in context.prompt() and "app.py prints v1" in context.prompt()
    (earlier,) = context.read_only_dirs
    ws = RunWorkspaces(tmp_path / "run2", workspace_agents=("a1",), session_dirs=[earlier])
    access = ws.access("a1", "coordination")
    assert earlier in access.read_dirs
    access.check("files", "read_text_file", {"path": str(earlier / "app.py")})
    with pytest.raises(PathRefused):
        access.check("workspace", "write_file", {"path": str(earlier / "app.py")})
    store.record("web", task="add tests", answer="done", workspace=None, started_at=time.time())
    turns = store.turns("web")
    assert [(t.number, t.task, t.workspace is None) for t in turns] == [
        (1, "write app.py", False),
        (2, "add tests", True),
    ]


def test_concurrent_turns_get_distinct_numbers(store: SessionStore) -> None:
    def record(n: int) -> None:
        store.record("s", task=f"t{n}", answer="a", workspace=None, started_at=0.0)

    threads = [threading.Thread(target=record, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(t.number for t in store.turns("s")) == [1, 2, 3, 4]


def test_bad_names_and_damaged_files(store: SessionStore) -> None:
    with pytest.raises(WorkspaceConfigError, match="invalid session name"):
        store.turns("../etc")
    store.record("s", task="t", answer="a", workspace=None, started_at=0.0)
    (store.root / "s" / "turn_0002.json").write_text("{not json")
    with pytest.raises(WorkspaceError, match="damaged turn file"):
        store.turns("s")
    assert store.remove("s") and not store.remove("s")
