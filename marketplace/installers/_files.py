"""The file manifest of an install: every installed file's sha256, to notice local tampering.

Written into the staging directory just before the completion marker (so a finished install
always has one), as ``.mgx-files.json``: relative POSIX paths in sorted order, each a file
(``sha256``, ``size``, whether it is executable) or a symlink (its target). Two checks read it:

* ``quick_drift`` (every ``sync``): an ``lstat`` per recorded path — missing, resized, turned
  into something else, executable bit lost. Cheap enough for ``sync --frozen``'s fast path.
* ``full_drift`` (``mgx tool verify``): re-hashes every file and walks the tree for
  executables that were not installed. Files the interpreter adds at run time (``.pyc``
  caches) are not executables and are not reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

__all__ = ["FILES", "full_drift", "quick_drift", "write_file_manifest"]

FILES = ".mgx-files.json"
_MARKER = ".mgx-installed.json"  # written after this file; see _staging.MARKER
_SKIP = {FILES, _MARKER}
_EXEC = stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _walk(directory: Path) -> list[tuple[str, os.stat_result]]:
    """Every non-directory entry under ``directory`` (relative path, lstat), sorted."""
    out = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in (*files, *[d for d in dirs if os.path.islink(os.path.join(root, d))]):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, directory).replace(os.sep, "/")
            if rel not in _SKIP:
                out.append((rel, os.lstat(full)))
    return sorted(out)


def _entry(directory: Path, rel: str, st: os.stat_result) -> dict[str, Any]:
    path = directory / rel
    if stat.S_ISLNK(st.st_mode):
        return {"link": os.readlink(path)}
    return {"sha256": _sha256(path), "size": st.st_size, "exec": bool(st.st_mode & _EXEC)}


def write_file_manifest(directory: Path) -> None:
    """Record every file under ``directory`` (deterministic: sorted, relative, no times)."""
    files = {rel: _entry(directory, rel, st) for rel, st in _walk(directory)}
    with open(directory / FILES, "w", encoding="utf-8") as fh:
        json.dump({"version": 1, "files": files}, fh, sort_keys=True, indent=0)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def _recorded(directory: Path) -> dict[str, dict[str, Any]] | None:
    try:
        data = json.loads((directory / FILES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else None


def quick_drift(directory: Path) -> list[str]:
    """Drift visible without reading file contents; empty when none (or no manifest)."""
    files = _recorded(directory)
    if files is None:
        return []  # installed by an older mgx: `mgx tool verify` says so
    drift = []
    for rel, want in files.items():
        try:
            st = os.lstat(directory / rel)
        except OSError:
            drift.append(f"{rel} is missing")
            continue
        if "link" in want:
            if not stat.S_ISLNK(st.st_mode):
                drift.append(f"{rel} is no longer a symlink")
        elif not stat.S_ISREG(st.st_mode) or st.st_size != want.get("size"):
            drift.append(f"{rel} was modified")
        elif want.get("exec") and not st.st_mode & _EXEC:
            drift.append(f"{rel} is no longer executable")
    return drift


def full_drift(directory: Path) -> list[str]:
    """Every modified, missing or retargeted file and every added executable, by path."""
    files = _recorded(directory)
    if files is None:
        return [f"no file manifest in {directory.name} (installed by an older mgx)"]
    drift = []
    seen = set()
    for rel, st in _walk(directory):
        seen.add(rel)
        want = files.get(rel)
        if want is None:
            if stat.S_ISLNK(st.st_mode) or st.st_mode & _EXEC:
                drift.append(f"{rel} was added (an executable that was not installed)")
            continue
        have = _entry(directory, rel, st)
        if "link" in want:
            if have != want:
                drift.append(f"{rel} was retargeted")
        elif "sha256" not in have or have["sha256"] != want.get("sha256"):
            drift.append(f"{rel} was modified")
        elif want.get("exec") and not have["exec"]:
            drift.append(f"{rel} is no longer executable")
    drift += [f"{rel} is missing" for rel in files if rel not in seen]
    return drift
