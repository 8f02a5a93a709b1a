"""Provenance kept with the install: ``{tool_dir}/.mgx-provenance.json`` (canonical JSON).

Written after the install is in place (atomically: temp file, fsync, rename), read back by
``reverify``. The lock holds its sha256, so a swapped or edited copy does not verify.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from marketplace.provenance._model import Evidence

__all__ = ["EVIDENCE_NAME", "load", "store"]

EVIDENCE_NAME = ".mgx-provenance.json"


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
