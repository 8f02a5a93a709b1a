"""Copying directory trees fast and safely: clone (copy-on-write) where the filesystem can,
hard links for immutable trees, a plain in-kernel copy otherwise.

Workspace → snapshot and snapshot → presenter must be real copies (an agent that edits a file
in place must not change a snapshot), so they *clone*: ``FICLONE`` (btrfs, XFS, bcachefs…
share blocks until written), else an in-kernel copy (``sendfile``). Snapshot →
read-only view may *link*: snapshots are never modified, so a hard link is a copy that costs
one inode entry. Symlinks and special files are never carried over (a link could point
outside the run); they are listed in ``TreeStats.skipped``.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from runtime.workspaces._errors import WorkspaceLimitError

__all__ = ["FileKey", "Limits", "Reuse", "TreeStats", "copy_tree", "measure_tree", "remove_tree"]

FICLONE = 0x40049409  # linux/fs.h _IOW(0x94, 9, int)
READ_ONLY_FILE = 0o444
READ_ONLY_DIR = 0o555
# Errors that mean "this filesystem (pair) cannot clone/link": fall back, do not fail.
_CANNOT = {errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.ENOSYS, errno.EPERM}


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Per-agent workspace limits (``None``: unlimited)."""

    max_bytes: int | None = 512 * 1024 * 1024
    max_files: int | None = 10_000


# What identifies one version of a file's content without reading it: an in-place write
# changes ctime (which no user call can set back), a replacement changes the inode.
FileKey = tuple[int, int, int, int]  # st_ino, st_size, st_mtime_ns, st_ctime_ns


@dataclass(frozen=True, kw_only=True)
class Reuse:
    """An earlier immutable copy of the same source tree: files whose source is unchanged
    since (same ``FileKey``) are hard-linked from it instead of copied again."""

    tree: Path
    index: dict[str, FileKey]


@dataclass(kw_only=True)
class TreeStats:
    """What a copy (or a measurement) found."""

    files: int = 0
    bytes: int = 0
    method: str = ""  # clone, copy or link (the one used for the last file copied)
    reused: int = 0  # files linked from a ``Reuse`` tree
    skipped: list[str] = field(default_factory=list)  # symlinks, sockets…: relative paths
    index: dict[str, FileKey] = field(default_factory=dict)  # relative path -> source key


class _Copier:
    def __init__(
        self,
        how: Literal["clone", "link"],
        limits: Limits | None,
        label: str,
        *,
        read_only: bool = False,
    ) -> None:
        self.how = how
        self.read_only = read_only
        self.limits = limits
        self.label = label
        self.stats = TreeStats()
        # Learned on the first file: once a clone or link fails for lack of support, the
        # rest of the tree is copied without retrying the ioctl for every file.
        self.can_clone = how == "clone"
        self.can_link = how == "link"
        self.reuse: Reuse | None = None

    def reused(self, rel: str, key: FileKey, dst: str) -> bool:
        """Link ``rel`` from the reuse tree if its source is unchanged since; False if not."""
        if self.reuse is None or self.reuse.index.get(rel) != key:
            return False
        try:
            os.link(self.reuse.tree / rel, dst)
        except OSError:
            return False  # gone, other filesystem, too many links: copy it instead
        self.stats.reused += 1
        return True

    def count(self, rel: str, size: int) -> None:
        self.stats.files += 1
        self.stats.bytes += size
        lim = self.limits
        if lim is None:
            return
        if lim.max_files is not None and self.stats.files > lim.max_files:
            raise WorkspaceLimitError(
                f"{self.label} holds more than {lim.max_files} files (limit); remove some"
            )
        if lim.max_bytes is not None and self.stats.bytes > lim.max_bytes:
            raise WorkspaceLimitError(
                f"{self.label} holds more than {_human(lim.max_bytes)} (limit, at {rel}); "
                "remove some files"
            )

    def file(self, src: str, dst: str, size: int) -> None:
        if self.can_link:
            try:
                os.link(src, dst)
                self.stats.method = "link"
                return
            except OSError as exc:
                if exc.errno not in _CANNOT and exc.errno != errno.EMLINK:
                    raise
                self.can_link = False
        # One create with the final mode (no chmod after), then a clone or in-kernel copy
        # through the open descriptors: the fewest syscalls per file (a snapshot of many
        # small files is dominated by per-file cost, not by bytes).
        mode = READ_ONLY_FILE if self.read_only else 0o644
        sfd = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
        try:
            dfd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
            try:
                self.stats.method = self._fill(sfd, dfd, size)
            finally:
                os.close(dfd)
        finally:
            os.close(sfd)

    def _fill(self, sfd: int, dfd: int, size: int) -> str:
        if self.can_clone:
            import fcntl

            try:
                fcntl.ioctl(dfd, FICLONE, sfd)
                return "clone"
            except OSError as exc:
                if exc.errno not in _CANNOT:
                    raise
                self.can_clone = False
        offset = 0
        while True:  # sendfile to the end (the file may have grown since it was measured)
            sent = os.sendfile(dfd, sfd, offset, max(size - offset, 1 << 20))
            if sent == 0:
                return "copy"
            offset += sent


def copy_tree(
    src: Path,
    dst: Path,
    *,
    how: Literal["clone", "link"] = "clone",
    read_only: bool = False,
    limits: Limits | None = None,
    label: str = "workspace",
    reuse: Reuse | None = None,
) -> TreeStats:
    """Copy the regular files and directories of ``src`` into new directory ``dst``.

    ``read_only`` leaves files 0444 and directories 0555 (else 0644/0755: a copy is the
    copier's own, whatever the source's modes). ``limits`` are checked as files are met:
    ``WorkspaceLimitError`` leaves a partial ``dst`` that the caller removes.
    """
    copier = _Copier(how, limits, label, read_only=read_only)
    copier.reuse = reuse
    dst.mkdir(mode=0o755)
    dirs = [dst]
    _walk(copier, str(src), str(dst), "", dirs)
    if read_only:
        for path in dirs:  # after the files: a 0555 directory cannot take new entries
            os.chmod(path, READ_ONLY_DIR)
    return copier.stats


def _walk(copier: _Copier, src: str, dst: str, rel: str, dirs: list[Path]) -> None:
    with os.scandir(src) as entries:
        listed = sorted(entries, key=lambda e: e.name)
    for entry in listed:
        rel_name = f"{rel}{entry.name}"
        target = os.path.join(dst, entry.name)
        if entry.is_symlink():
            copier.stats.skipped.append(rel_name)
        elif entry.is_dir(follow_symlinks=False):
            os.mkdir(target, 0o755)
            dirs.append(Path(target))
            _walk(copier, entry.path, target, f"{rel_name}/", dirs)
        elif entry.is_file(follow_symlinks=False):
            st = entry.stat(follow_symlinks=False)
            key = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            copier.count(rel_name, st.st_size)
            copier.stats.index[rel_name] = key
            if copier.reused(rel_name, key, target):
                continue
            copier.file(entry.path, target, st.st_size)
        else:
            copier.stats.skipped.append(rel_name)


def measure_tree(
    root: Path, *, limits: Limits | None = None, label: str = "workspace"
) -> TreeStats:
    """Count files and bytes under ``root`` (symlinks not followed), checking ``limits``."""
    copier = _Copier("clone", limits, label)
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                copier.count(os.path.relpath(path, root), st.st_size)
    return copier.stats


def remove_tree(path: Path) -> None:
    """Remove ``path`` and everything below, read-only parts included (missing: no-op)."""
    if not os.path.lexists(path):
        return
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return
    # A 0555 directory refuses unlinks of its entries (for non-root users): open them up first.
    for dirpath, dirnames, _files in os.walk(path):
        os.chmod(dirpath, 0o755)
        for name in dirnames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                os.chmod(full, 0o755)
    shutil.rmtree(path)


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
