"""The one path check and the tree copier (clone/copy, links, limits, read-only modes)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from runtime.workspaces import (
    Limits,
    PathRefused,
    WorkspaceLimitError,
    copy_tree,
    remove_tree,
    resolve_inside,
)
from runtime.workspaces._paths import tool_call_paths


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a\n")
    (root / "sub" / "b.bin").write_bytes(b"\x00" * 100)
    return root


def test_paths_inside_pass_resolved(tree: Path) -> None:
    assert resolve_inside("a.txt", [tree]) == tree / "a.txt"
    assert resolve_inside(tree / "sub" / "new.txt", [tree]) == tree / "sub" / "new.txt"
    assert resolve_inside(str(tree), [tree]) == tree
    os.symlink(tree / "sub", tree / "inner")  # a symlink that stays inside is fine
    assert resolve_inside("inner/b.bin", [tree]) == tree / "sub" / "b.bin"


@pytest.mark.parametrize(
    "raw",
    ["../x", "sub/../../x", "sub/../a.txt", "/etc/passwd", "~/x", "a\x00b"],
)
def test_escapes_are_refused(tree: Path, raw: str) -> None:
    with pytest.raises(PathRefused):
        resolve_inside(raw, [tree])


def test_symlink_pointing_outside_is_refused_even_for_new_files(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, tree / "out")
    with pytest.raises(PathRefused, match="through a symlink"):
        resolve_inside("out/new.txt", [tree])
    os.symlink("/etc/hostname", tree / "host")
    with pytest.raises(PathRefused):
        resolve_inside(tree / "host", [tree])


def test_prefix_sibling_is_not_inside(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws2").mkdir()
    with pytest.raises(PathRefused):
        resolve_inside(tmp_path / "ws2" / "x", [tmp_path / "ws"])


def test_tool_call_paths_finds_every_path_argument() -> None:
    args = {"path": "a", "paths": ["b", "c", 3], "source": "d", "destination": "e", "x": "f"}
    assert tool_call_paths(args) == ["a", "b", "c", "d", "e"]


def test_copy_is_independent_and_read_only(tree: Path, tmp_path: Path) -> None:
    os.symlink("/etc", tree / "etc-link")
    os.mkfifo(tree / "pipe")
    stats = copy_tree(tree, tmp_path / "copy", read_only=True)
    copy = tmp_path / "copy"
    assert stats.files == 2 and stats.bytes == 102
    assert sorted(stats.skipped) == ["etc-link", "pipe"]  # never carried over
    assert not os.path.lexists(copy / "etc-link")
    assert stat.S_IMODE((copy / "a.txt").stat().st_mode) == 0o444
    assert stat.S_IMODE((copy / "sub").stat().st_mode) == 0o555
    # editing the source in place (same inode) leaves the copy alone
    with open(tree / "a.txt", "r+") as fh:
        fh.write("X")
    assert (copy / "a.txt").read_text() == "a\n"
    remove_tree(copy)
    assert not copy.exists()


def test_link_copies_share_inodes(tree: Path, tmp_path: Path) -> None:
    copy_tree(tree, tmp_path / "snap", read_only=True)
    stats = copy_tree(tmp_path / "snap", tmp_path / "view", how="link", read_only=True)
    assert stats.method == "link"
    assert (tmp_path / "view" / "a.txt").stat().st_ino == (
        tmp_path / "snap" / "a.txt"
    ).stat().st_ino


def test_limits_give_a_clear_error(tree: Path, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceLimitError, match="more than 1 files"):
        copy_tree(tree, tmp_path / "c1", limits=Limits(max_files=1), label="ws")
    with pytest.raises(WorkspaceLimitError, match="more than 50 B"):
        copy_tree(tree, tmp_path / "c2", limits=Limits(max_bytes=50), label="ws")
