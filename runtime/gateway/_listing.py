"""Tool lists recorded per locked package, so ``tools/list`` needs no server started.

The first time the gateway starts a server it records the tools that server listed (name,
description, input schema) under a key made of the tool's name and a digest of its lock
entry's ``[package]`` table: the same locked package on the same machine lists the same
tools, and any change to the lock (another version, digest or invocation) makes a new key,
so a stale list is never served. The file lives in mgx's state directory, is rewritten
atomically, and holds no secrets (tool metadata only).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from marketplace.lockfile import LockedTool

__all__ = ["ListingCache", "listing_key"]

_FORMAT = 1


def listing_key(tool: LockedTool) -> str:
    """The cache key of a locked tool: its name and a digest of its ``[package]`` table."""
    package = json.dumps(tool.package.to_dict(), sort_keys=True, default=str)
    digest = hashlib.sha256(package.encode()).hexdigest()[:32]
    return f"{tool.name}@{tool.version}#{digest}"


class ListingCache:
    """``{key: [tool, ...]}`` in one JSON file; unreadable or foreign content reads as empty."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, list[dict[str, Any]]] | None = None

    def _load(self) -> dict[str, list[dict[str, Any]]]:
        if self._entries is None:
            try:
                doc = json.loads(self.path.read_text(encoding="utf-8"))
                ok = isinstance(doc, dict) and doc.get("format") == _FORMAT
                entries = doc.get("tools") if ok else None
                self._entries = entries if isinstance(entries, dict) else {}
            except (OSError, ValueError):
                self._entries = {}
        return self._entries

    def get(self, key: str) -> list[dict[str, Any]] | None:
        tools = self._load().get(key)
        if not isinstance(tools, list) or not all(
            isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools
        ):
            return None
        return tools

    def put(self, key: str, tools: list[dict[str, Any]]) -> None:
        """Record ``tools`` for ``key`` (merged with what another gateway may have written)."""
        from marketplace._fs import atomic_write

        self._entries = None  # re-read: another gateway may have recorded other packages
        entries = dict(self._load())
        if entries.get(key) == tools:
            return
        entries[key] = tools
        self._entries = entries
        atomic_write(self.path, json.dumps({"format": _FORMAT, "tools": entries}, indent=1))
