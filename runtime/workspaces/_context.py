"""Context paths: the user's own directories, granted to agents with a permission.

``context_paths: [{path, permission: read|write}]`` (MassGen's shape). During coordination
every agent reads them; only the presenter gets ``write``, and then not on the user's files
directly: it writes into a staging copy (``context/<n>-<name>`` in the run directory). At the
end mgx compares the copy with the original and either applies each added or changed file
atomically (temp file beside it, ``os.replace``) and each deletion, listing them, or, with
``--dry-run-writes``, only reports the diff. A tool's bug therefore cannot half-write a user
file, and a dry run touches nothing.
"""

from __future__ import annotations

import difflib
import filecmp
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from marketplace._fs import fsync_dir
from runtime.workspaces._errors import WorkspaceConfigError
from runtime.workspaces._paths import is_within, resolve_inside

__all__ = [
    "ContextChange",
    "ContextPath",
    "apply_changes",
    "context_changes",
    "validate_context_paths",
]

Permission = Literal["read", "write"]
_MAX_DIFF_BYTES = 1024 * 1024  # larger files are reported as changed, without a diff


@dataclass(frozen=True, kw_only=True)
class ContextPath:
    """One validated context path: an existing directory, resolved and absolute."""

    path: Path
    permission: Permission

    def to_json(self) -> dict[str, str]:
        return {"path": str(self.path), "permission": self.permission}


@dataclass(frozen=True, kw_only=True)
class ContextChange:
    """One file the presenter added, modified or deleted in a write context path."""

    path: str  # absolute path of the user's file
    kind: Literal["added", "modified", "deleted"]
    diff: str = ""  # unified diff (text files), or a one-line note
    applied: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "diff": self.diff, "applied": self.applied}


def validate_context_paths(
    entries: Sequence[Mapping[str, Any]] | None,
    *,
    base: Path,
    reserved: Iterable[Path] = (),
) -> tuple[ContextPath, ...]:
    """Check ``context_paths`` entries before anything starts; one-line ``WorkspaceConfigError``.

    Each entry needs ``path`` (relative ones are taken against ``base``) naming an existing
    directory, and ``permission`` ``read`` or ``write`` (default ``read``). No entry may
    overlap (contain or lie inside) a ``reserved`` directory: the run directory and the
    workspaces; nor may two entries overlap each other.
    """
    out: list[ContextPath] = []
    reserved_resolved = [Path(r).resolve() for r in reserved]
    for index, entry in enumerate(entries or ()):
        where = f"context_paths[{index}]"
        if not isinstance(entry, Mapping):
            raise WorkspaceConfigError(f"{where}: expected {{path, permission}}, got {entry!r}")
        unknown = sorted(set(entry) - {"path", "permission"})
        if unknown:
            raise WorkspaceConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        raw = entry.get("path")
        if not isinstance(raw, str) or not raw.strip():
            raise WorkspaceConfigError(f"{where}: 'path' must be a non-empty string")
        permission = entry.get("permission", "read")
        if permission not in ("read", "write"):
            raise WorkspaceConfigError(
                f"{where}: permission must be 'read' or 'write', not {permission!r}"
            )
        candidate = Path(os.path.expanduser(raw))
        if not candidate.is_absolute():
            candidate = base / candidate
        try:
            resolved = candidate.resolve(strict=True)
        except (FileNotFoundError, NotADirectoryError):
            raise WorkspaceConfigError(f"{where}: {raw} does not exist") from None
        except OSError as exc:
            raise WorkspaceConfigError(f"{where}: {raw}: {exc.strerror}") from None
        if not resolved.is_dir():
            raise WorkspaceConfigError(f"{where}: {raw} is not a directory")
        for other in reserved_resolved:
            if is_within(resolved, other) or is_within(other, resolved):
                raise WorkspaceConfigError(
                    f"{where}: {resolved} overlaps the workspace directory {other}"
                )
        for earlier in out:
            if is_within(resolved, earlier.path) or is_within(earlier.path, resolved):
                raise WorkspaceConfigError(
                    f"{where}: {resolved} overlaps the context path {earlier.path}"
                )
        out.append(ContextPath(path=resolved, permission=permission))
    return tuple(out)


def _regular_files(root: Path) -> dict[str, Path]:
    """Relative path → file, for the regular files under ``root`` (symlinks not followed)."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            full = Path(dirpath) / name
            if stat.S_ISREG(os.lstat(full).st_mode):
                found[full.relative_to(root).as_posix()] = full
    return found


def context_changes(original: Path, staged: Path) -> list[ContextChange]:
    """What differs between the user's ``original`` and the presenter's ``staged`` copy."""
    before = _regular_files(original)
    after = _regular_files(staged)
    changes: list[ContextChange] = []
    for rel in sorted(set(before) | set(after)):
        old, new = before.get(rel), after.get(rel)
        target = str(original / rel)
        if old is None and new is not None:
            changes.append(ContextChange(path=target, kind="added", diff=_diff(None, new, rel)))
        elif new is None and old is not None:
            changes.append(ContextChange(path=target, kind="deleted", diff=_diff(old, None, rel)))
        elif old is not None and new is not None and not filecmp.cmp(old, new, shallow=False):
            changes.append(ContextChange(path=target, kind="modified", diff=_diff(old, new, rel)))
    return changes


def _text(path: Path | None) -> list[str] | None:
    if path is None:
        return []
    if path.stat().st_size > _MAX_DIFF_BYTES:
        return None
    try:
        return path.read_text(encoding="utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def _diff(old: Path | None, new: Path | None, rel: str) -> str:
    a, b = _text(old), _text(new)
    if a is None or b is None:
        return f"binary or large file {rel} differs"
    return "".join(
        difflib.unified_diff(
            a,
            b,
            fromfile="/dev/null" if old is None else f"a/{rel}",
            tofile="/dev/null" if new is None else f"b/{rel}",
        )
    )


def apply_changes(
    original: Path, staged: Path, changes: Sequence[ContextChange]
) -> list[ContextChange]:
    """Apply ``changes`` to ``original``, each file atomically; returns them marked applied."""
    done: list[ContextChange] = []
    for change in changes:
        target = Path(change.path)
        rel = target.relative_to(original)
        # The user's tree may hold a symlink (never staged) where the copy has a directory:
        # writing through it would land outside. The one path check refuses that.
        resolve_inside(target, [original])
        if change.kind == "deleted":
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            os.close(fd)
            try:
                shutil.copyfile(staged / rel, tmp)
                mode = os.stat(target).st_mode & 0o7777 if target.exists() else 0o644
                os.chmod(tmp, mode)
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        fsync_dir(target.parent)
        done.append(
            ContextChange(path=change.path, kind=change.kind, diff=change.diff, applied=True)
        )
    return done
