"""``RunWorkspaces`` called as the orchestrator calls it: snapshots on new_answer, views on
(re)start, the presenter's restore and staged context writes, --output, cleanup and --keep."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from runtime.workspaces import (
    Limits,
    PathRefused,
    RunWorkspaces,
    WorkspaceConfigError,
    WorkspaceError,
    WorkspaceLimitError,
    check_output_dir,
    validate_context_paths,
)


def _ws(tmp_path: Path, **kw: object) -> RunWorkspaces:
    return RunWorkspaces(tmp_path / "run", workspace_agents=("a1", "a2", "a3"), **kw)  # type: ignore[arg-type]


def test_layout_and_coordination_access(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    run = (tmp_path / "run").resolve()
    assert ws.workspace("a1") == run / "workspaces" / "a1" and (run / "workspaces/a3").is_dir()
    ws.view_for("a1")
    assert ws.allowed_dirs("a1", "coordination") == [run / "workspaces/a1", run / "views/a1"]
    with pytest.raises(WorkspaceError, match="not the presenter"):
        ws.access("a1", "presentation")


def test_snapshots_are_anonymous_read_only_and_views_exclude_ones_own(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    (ws.workspace("a1") / "a.txt").write_text("one\n")  # type: ignore[operator]
    (ws.workspace("a2") / "b.txt").write_text("two\n")  # type: ignore[operator]
    info = ws.on_new_answer("a1", "agent1")
    assert info is not None and info.files == 1 and info.path.name == "agent1"
    ws.on_new_answer("a2", "agent2")
    view1 = ws.view_for("a1")
    view3 = ws.view_for("a3")
    assert sorted(p.name for p in view1.iterdir()) == ["agent2"]  # not its own
    assert sorted(p.name for p in view3.iterdir()) == ["agent1", "agent2"]  # no real ids
    f = view3 / "agent1" / "a.txt"
    assert f.read_text() == "one\n"
    assert stat.S_IMODE(f.stat().st_mode) == 0o444
    assert stat.S_IMODE(view3.stat().st_mode) == 0o555
    # mgx's check refuses any write into the view, whatever the file modes
    with pytest.raises(PathRefused):
        ws.access("a3", "coordination").check("workspace", "write_file", {"path": str(f)})


def test_a_new_answer_replaces_the_snapshot_and_a_restart_sees_it(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    a1 = ws.workspace("a1")
    assert a1 is not None
    (a1 / "a.txt").write_text("v1\n")
    ws.on_new_answer("a1", "agent1")
    view = ws.view_for("a2")
    (a1 / "a.txt").write_text("v2\n")
    (a1 / "extra.txt").write_text("x\n")
    assert (view / "agent1" / "a.txt").read_text() == "v1\n"  # snapshot, not the live tree
    ws.on_new_answer("a1", "agent1")
    assert (view / "agent1" / "a.txt").read_text() == "v1\n"  # until a2 restarts
    ws.view_for("a2")
    assert (view / "agent1" / "a.txt").read_text() == "v2\n"
    assert (view / "agent1" / "extra.txt").exists()
    assert not any((tmp_path / "run" / ".tmp").iterdir())  # nothing half-built left


def test_limit_exceeded_keeps_the_previous_snapshot(tmp_path: Path) -> None:
    ws = _ws(tmp_path, limits=Limits(max_files=2, max_bytes=None))
    a1 = ws.workspace("a1")
    assert a1 is not None
    (a1 / "1").write_text("1")
    ws.on_new_answer("a1", "agent1")
    for n in range(2, 5):
        (a1 / str(n)).write_text(str(n))
    with pytest.raises(WorkspaceLimitError, match="workspace of a1 holds more than 2 files"):
        ws.on_new_answer("a1", "agent1")
    assert [p.name for p in (tmp_path / "run/snapshots/agent1").iterdir()] == ["1"]
    assert not any((tmp_path / "run" / ".tmp").iterdir())


def test_anonymous_ids_cannot_be_shared(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    ws.on_new_answer("a1", "agent1")
    with pytest.raises(WorkspaceError, match="belongs to another agent"):
        ws.on_new_answer("a2", "agent1")
    with pytest.raises(WorkspaceConfigError):
        ws.on_new_answer("a2", "../x")


def test_presenter_gets_the_winners_snapshot_and_output_is_copied(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    a1, a2 = ws.workspace("a1"), ws.workspace("a2")
    assert a1 is not None and a2 is not None
    (a1 / "win.txt").write_text("winner\n")
    (a2 / "mine.txt").write_text("presenter's own draft\n")
    ws.on_new_answer("a1", "agent1")
    ws.on_new_answer("a2", "agent2")
    access = ws.prepare_presenter(winner_id="a1", presenter_id="a2")
    assert access.write_dirs == (a2,)
    assert sorted(p.name for p in a2.iterdir()) == ["win.txt"]  # exactly the winner's files
    assert stat.S_IMODE((a2 / "win.txt").stat().st_mode) == 0o644  # writable again
    (a2 / "win.txt").write_text("winner, polished\n")
    out = tmp_path / "out"
    result = ws.finish(out)
    assert result.final_workspace == out and result.output == out
    assert (out / "win.txt").read_text() == "winner, polished\n"
    assert not (tmp_path / "run").exists()
    assert result.to_json()["final_workspace"] == str(out)


def test_keep_leaves_everything_and_no_output_keeps_the_final_workspace(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    ws.on_new_answer("a1", "agent1")
    ws.prepare_presenter(winner_id="a1", presenter_id="a1")
    result = ws.finish(keep=True)
    run = (tmp_path / "run").resolve()
    assert result.kept and (run / "snapshots/agent1").is_dir() and (run / "views").is_dir()
    with pytest.raises(WorkspaceError, match="already"):
        ws.finish()

    ws2 = RunWorkspaces(tmp_path / "run2", workspace_agents=("a1", "a2"))
    ws2.on_new_answer("a1", "agent1")
    ws2.prepare_presenter(winner_id="a1", presenter_id="a1")
    result = ws2.finish()
    run2 = (tmp_path / "run2").resolve()
    assert result.final_workspace == run2 / "workspaces/a1" and result.final_workspace.is_dir()
    assert sorted(p.name for p in run2.iterdir()) == ["workspaces"]
    assert sorted(p.name for p in (run2 / "workspaces").iterdir()) == ["a1"]


def test_output_dir_is_checked_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(WorkspaceConfigError, match="not empty"):
        check_output_dir(tmp_path / "full")
    with pytest.raises(WorkspaceConfigError, match="not a directory"):
        check_output_dir(tmp_path / "file")
    with pytest.raises(WorkspaceConfigError, match="does not exist"):
        check_output_dir(tmp_path / "no" / "out")
    (tmp_path / "empty").mkdir()
    assert check_output_dir(tmp_path / "empty") == tmp_path / "empty"


# --- context paths ---------------------------------------------------------------------------


def _user_dir(tmp_path: Path) -> Path:
    user = tmp_path / "project"
    (user / "docs").mkdir(parents=True)
    (user / "README.md").write_text("# Project\n")
    (user / "docs" / "old.txt").write_text("old\n")
    return user


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "missing"}, r"context_paths\[0\]: missing does not exist"),
        ({"path": "project/README.md"}, "is not a directory"),
        ({"path": "project", "permission": "admin"}, "permission must be 'read' or 'write'"),
        ({"path": "project", "mode": "r"}, "unknown key"),
        ({"path": ""}, "non-empty string"),
        ("project", "expected"),
        ({"path": "."}, "overlaps the workspace directory"),  # contains the run directory
        ({"path": "run/workspaces"}, "overlaps"),  # inside it
    ],
)
def test_bad_context_paths_are_one_line_errors(tmp_path: Path, entry: object, message: str) -> None:
    _user_dir(tmp_path)
    (tmp_path / "run" / "workspaces").mkdir(parents=True)
    with pytest.raises(WorkspaceConfigError, match=message) as info:
        RunWorkspaces.from_config(
            tmp_path / "run2" if entry == {"path": "."} else tmp_path / "run",
            workspace_agents=["a1"],
            context_paths=[entry],
            base=tmp_path,
        )
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_overlapping_context_paths_are_refused(tmp_path: Path) -> None:
    user = _user_dir(tmp_path)
    with pytest.raises(WorkspaceConfigError, match="overlaps the context path"):
        validate_context_paths(
            [{"path": str(user)}, {"path": str(user / "docs")}], base=tmp_path, reserved=[]
        )


def test_context_paths_are_read_only_in_coordination_and_staged_for_the_presenter(
    tmp_path: Path,
) -> None:
    user = _user_dir(tmp_path)
    ro = tmp_path / "reference"
    ro.mkdir()
    ws = RunWorkspaces.from_config(
        tmp_path / "run",
        workspace_agents=["a1", "a2"],
        context_paths=[{"path": "project", "permission": "write"}, {"path": str(ro)}],
        base=tmp_path,
    )
    coordination = ws.access("a1", "coordination")
    assert user.resolve() in coordination.read_dirs and ro.resolve() in coordination.read_dirs
    with pytest.raises(PathRefused):
        coordination.check("workspace", "write_file", {"path": str(user / "README.md")})
    with pytest.raises(PathRefused, match="read-only"):
        coordination.check("files", "write_file", {"path": str(user / "README.md")})
    coordination.check("files", "read_text_file", {"path": str(user / "README.md")})

    ws.on_new_answer("a1", "agent1")
    presenting = ws.prepare_presenter(winner_id="a1", presenter_id="a1")
    staged = presenting.write_dirs[1]
    assert staged.is_relative_to((tmp_path / "run").resolve())
    assert ro.resolve() in presenting.read_dirs and user.resolve() not in presenting.allowed_dirs
    assert "context path" in presenting.describe()
    (staged / "README.md").write_text("# Project\n\nNew section.\n")
    (staged / "docs" / "new.txt").write_text("new\n")
    (staged / "docs" / "old.txt").unlink()
    result = ws.finish()
    kinds = {
        Path(c.path).relative_to(user.resolve()).as_posix(): c.kind for c in result.context_writes
    }
    assert kinds == {"README.md": "modified", "docs/new.txt": "added", "docs/old.txt": "deleted"}
    assert all(c.applied for c in result.context_writes)
    assert (user / "README.md").read_text() == "# Project\n\nNew section.\n"
    assert (user / "docs" / "new.txt").read_text() == "new\n"
    assert not (user / "docs" / "old.txt").exists()
    assert not list(user.rglob("*.tmp"))


def test_dry_run_writes_only_diff(tmp_path: Path) -> None:
    user = _user_dir(tmp_path)
    ws = RunWorkspaces.from_config(
        tmp_path / "run",
        workspace_agents=["a1"],
        context_paths=[{"path": str(user), "permission": "write"}],
        base=tmp_path,
        dry_run_writes=True,
    )
    ws.on_new_answer("a1", "agent1")
    staged = ws.prepare_presenter(winner_id="a1", presenter_id="a1").write_dirs[1]
    (staged / "README.md").write_text("# Project\nchanged\n")
    result = ws.finish()
    (change,) = result.context_writes
    assert change.kind == "modified" and not change.applied
    assert "+changed" in change.diff and "--- a/README.md" in change.diff
    assert (user / "README.md").read_text() == "# Project\n"
    assert result.to_json()["dry_run_writes"] is True


def test_dry_run_writes_without_a_write_path_is_refused(tmp_path: Path) -> None:
    _user_dir(tmp_path)
    with pytest.raises(WorkspaceConfigError, match="dry-run-writes"):
        RunWorkspaces.from_config(
            tmp_path / "run",
            workspace_agents=["a1"],
            context_paths=[{"path": "project"}],
            base=tmp_path,
            dry_run_writes=True,
        )


def test_a_symlink_in_the_users_tree_is_never_written_through(tmp_path: Path) -> None:
    user = _user_dir(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (user / "link").symlink_to(outside)
    ws = RunWorkspaces.from_config(
        tmp_path / "run",
        workspace_agents=["a1"],
        context_paths=[{"path": str(user), "permission": "write"}],
        base=tmp_path,
    )
    staged = ws.prepare_presenter(winner_id="a1", presenter_id="a1").write_dirs[1]
    assert not (staged / "link").exists()  # symlinks are not staged
    (staged / "link").mkdir()
    (staged / "link" / "planted.txt").write_text("x")
    with pytest.raises(PathRefused):
        ws.finish()
    assert not (outside / "planted.txt").exists()


def test_a_second_snapshot_links_unchanged_files_and_copies_edited_ones(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    a1 = ws.workspace("a1")
    assert a1 is not None
    for n in range(5):
        (a1 / f"f{n}.txt").write_text(f"v1 {n}\n")
    first = ws.on_new_answer("a1", "agent1")
    assert first is not None and first.reused == 0
    view = ws.view_for("a2")
    with open(a1 / "f0.txt", "r+") as fh:  # in place, same size: only ctime tells
        fh.write("V2")
    (a1 / "new.txt").write_text("new\n")
    second = ws.on_new_answer("a1", "agent1")
    assert second is not None and second.reused == 4 and second.files == 6
    snap = tmp_path / "run" / "snapshots" / "agent1"
    assert (snap / "f0.txt").read_text() == "V2 0\n"
    assert (view / "agent1" / "f0.txt").read_text() == "v1 0\n"  # the old snapshot's view
    assert (snap / "f1.txt").stat().st_ino == (view / "agent1" / "f1.txt").stat().st_ino
    assert (snap / "f1.txt").stat().st_ino != (a1 / "f1.txt").stat().st_ino  # never the live file


def test_access_builds_the_view_on_first_use(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    (ws.workspace("a1") / "x.txt").write_text("x")  # type: ignore[operator]
    ws.on_new_answer("a1", "agent1")
    access = ws.access("a2", "coordination")  # no view_for call first
    view = (tmp_path / "run" / "views" / "a2").resolve()
    assert view in access.read_dirs and (view / "agent1" / "x.txt").read_text() == "x"


def test_concurrent_answers_and_restarts_from_threads(tmp_path: Path) -> None:
    import threading

    ws = _ws(tmp_path)
    errors: list[BaseException] = []

    def agent(n: int) -> None:
        me = f"a{n}"
        try:
            for round_ in range(5):
                (ws.workspace(me) / f"r{round_}.txt").write_text(me)  # type: ignore[operator]
                ws.on_new_answer(me, f"agent{n}")
                ws.view_for(me)
        except BaseException as exc:  # collected: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=agent, args=(n,)) for n in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    view = ws.view_for("a1")
    assert sorted(p.name for p in view.iterdir()) == ["agent2", "agent3"]
    assert len(list((view / "agent3").iterdir())) == 5


def test_deferred_cleanup_sets_trees_aside_until_purge(tmp_path: Path) -> None:
    ws = RunWorkspaces(tmp_path / "run", workspace_agents=("a1", "a2"), defer_cleanup=True)
    (ws.workspace("a1") / "f").write_text("f")  # type: ignore[operator]
    ws.on_new_answer("a1", "agent1")
    ws.prepare_presenter(winner_id="a1", presenter_id="a2")
    result = ws.finish()
    run = (tmp_path / "run").resolve()
    assert sorted(p.name for p in run.iterdir()) == ["workspaces"]
    assert sorted(p.name for p in (run / "workspaces").iterdir()) == ["a2"]
    assert result.final_workspace == run / "workspaces/a2"
    trash = [p for p in tmp_path.iterdir() if ".trash-" in p.name]
    assert trash  # set aside beside the run, not yet deleted
    ws.purge()
    assert not [p for p in tmp_path.iterdir() if ".trash-" in p.name]
    assert (run / "workspaces/a2/f").read_text() == "f"


def test_final_workspace_over_its_limit_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    ws = RunWorkspaces(
        tmp_path / "run", workspace_agents=("a1",), limits=Limits(max_files=2, max_bytes=None)
    )
    a1 = ws.workspace("a1")
    assert a1 is not None
    ws.on_new_answer("a1", "agent1")
    ws.prepare_presenter(winner_id="a1", presenter_id="a1")
    for n in range(3):
        (a1 / f"{n}.txt").write_text("x")
    (a1 / "link").symlink_to("/etc")
    with pytest.raises(WorkspaceLimitError, match="final workspace of a1"):
        ws.finish(tmp_path / "out")
    assert not (tmp_path / "out").exists()
    (a1 / "2.txt").unlink()
    result = ws.finish(tmp_path / "out")  # fixed: finishing is still possible
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0.txt", "1.txt"]
    assert result.skipped == ("link",) and result.to_json()["skipped"] == ["link"]


def test_output_without_a_final_workspace_is_an_error_not_ignored(tmp_path: Path) -> None:
    ws = RunWorkspaces(tmp_path / "run", workspace_agents=())
    with pytest.raises(WorkspaceConfigError, match="no final workspace"):
        ws.finish(tmp_path / "out")
    assert ws.finish().final_workspace is None
