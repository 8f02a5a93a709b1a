"""Provenance kept with the install: ``{tool_dir}/.mgx-provenance.json`` (canonical JSON).

Written after the install is in place (atomically: temp file, fsync, rename), read back by
``reverify``. The lock holds its sha256, so a swapped or edited copy does not verify.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from marketplace.provenance._model import Evidence

if TYPE_CHECKING:
    from marketplace.lockfile import LockedTool

__all__ = ["EVIDENCE_NAME", "checked_before", "load", "remember_checked", "store"]

EVIDENCE_NAME = ".mgx-provenance.json"
CHECKED_NAME = ".mgx-provenance.checked"


def store(install_dir: Path, evidence: Evidence) -> Path:
    path = install_dir / EVIDENCE_NAME
    data = evidence.to_bytes()
    try:
        if path.read_bytes() == data:
            return path
    except OSError:
        pass
    tmp = path.with_name(f"{EVIDENCE_NAME}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def load(install_dir: Path) -> bytes | None:
    try:
        return (install_dir / EVIDENCE_NAME).read_bytes()
    except FileNotFoundError:
        return None


def _checked_key(tool: LockedTool) -> str:
    """What a full check was made for: the lock's whole verification table."""
    text = json.dumps(dict(tool.verification), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def checked_before(tool: LockedTool, install_dir: Path) -> bool:
    try:
        return (install_dir / CHECKED_NAME).read_text() == _checked_key(tool)
    except OSError:
        return False


def remember_checked(tool: LockedTool, install_dir: Path) -> None:
    """Note that the stored provenance fully verified for this lock entry (best effort)."""
    with contextlib.suppress(OSError):
        tmp = install_dir / f"{CHECKED_NAME}.{secrets.token_hex(6)}.tmp"
        tmp.write_text(_checked_key(tool))
        os.replace(tmp, install_dir / CHECKED_NAME)
