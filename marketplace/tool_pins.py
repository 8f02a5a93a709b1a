"""Pinned tool descriptions: what a server tells the model, hashed at check time, compared later.

A server's ``tools/list`` (names, descriptions, schemas) is what steers the model; a server
that changes it after install (a "rug pull") must not be believed silently. When a tool is
checked, each tool's wire object is reduced to the fields the model sees (``name``, ``title``,
``description``, ``inputSchema``, ``outputSchema``, ``annotations``), serialised as RFC 8785
canonical JSON and hashed; the lock records one digest per tool and one for the whole list
(``ToolPins``). The canonical descriptions themselves are kept in a content-addressed store
under the data directory (named by the list digest), so a later mismatch can show what
changed. Comparing costs one canonicalisation and one sha256 per tool: no I/O unless there is
a difference to explain.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from marketplace.settings import Settings

from marketplace.errors import VerificationError

__all__ = [
    "PINNED_FIELDS",
    "ToolPins",
    "ToolPinsChanged",
    "compare_pins",
    "canonical_tools",
    "describe_changes",
    "load_descriptions",
    "pins_for",
    "pins_store",
    "store_descriptions",
]

# The fields of a tool that reach the model (MCP 2025-06-18 and later); everything else on the
# wire (``_meta``, icons, execution hints) is not hashed.
PINNED_FIELDS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")


@dataclass(frozen=True, kw_only=True)
class ToolPins:
    """The lock's pins for one server: ``digest`` of the whole list, one digest per tool."""

    digest: str
    tools: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "tools": {k: self.tools[k] for k in sorted(self.tools)}}

    @classmethod
    def from_dict(cls, d: Any, where: str) -> ToolPins:
        from marketplace.errors import LockError

        tools = d.get("tools", {}) if isinstance(d, Mapping) else None
        digest = d.get("digest") if isinstance(d, Mapping) else None
        if (
            not isinstance(digest, str)
            or not isinstance(tools, Mapping)
            or not all(isinstance(v, str) for v in tools.values())
        ):
            raise LockError(f'{where}: expected digest = "sha256:…" and a [tools] table')
        return cls(digest=digest, tools={str(k): v for k, v in tools.items()})


class ToolPinsChanged(VerificationError):
    """A server's tools differ from the pinned ones; ``changes`` lists each difference."""

    def __init__(self, tool: str, changes: list[str]) -> None:
        self.tool = tool
        self.changes = changes
        n = len(changes)
        super().__init__(
            f"{tool}: its tool descriptions changed since they were pinned ({n} change"
            f"{'s' if n != 1 else ''}: {'; '.join(changes)}); review and accept them with "
            f"`mgx tool trust {tool}`"
        )


def compare_pins(store: Path | None, tool: str, pinned: ToolPins, current: Sequence[Any]) -> None:
    """Raise ``ToolPinsChanged`` (with a diff) unless ``current`` matches ``pinned``.

    ``store`` holds the pinned descriptions (``pins_store``); it is read only on a mismatch.
    """
    now, _ = pins_for(current)
    if now.digest == pinned.digest:
        return
    old = load_descriptions(store, pinned) if store is not None else None
    raise ToolPinsChanged(tool, describe_changes(pinned, current, old=old))


def _wire(tool: Any) -> dict[str, Any]:
    """The pinned fields of one tool, from an SDK object or a plain dict (as on the wire)."""
    if hasattr(tool, "model_dump"):
        tool = tool.model_dump(by_alias=True, exclude_none=True, mode="json")
    return {k: tool[k] for k in PINNED_FIELDS if k in tool and tool[k] is not None}


def canonical_tools(tools: Iterable[Any]) -> list[dict[str, Any]]:
    """The pinned fields of every tool, sorted by name (the form that is hashed and stored)."""
    return sorted((_wire(t) for t in tools), key=lambda t: str(t.get("name", "")))


def _digest(value: Any) -> str:
    import rfc8785  # imported lazily: only checks and starts need it

    return "sha256:" + hashlib.sha256(rfc8785.dumps(value)).hexdigest()


def pins_for(tools: Iterable[Any]) -> tuple[ToolPins, list[dict[str, Any]]]:
    """Pins of a ``tools/list`` result, and the canonical descriptions they were computed from."""
    canon = canonical_tools(tools)
    per_tool = {str(t.get("name", "")): _digest(t) for t in canon}
    return ToolPins(digest=_digest(canon), tools=per_tool), canon


def describe_changes(
    pinned: ToolPins, current: Sequence[Any], *, old: Sequence[Mapping[str, Any]] | None
) -> list[str]:
    """What differs between the pinned list and ``current`` (empty when they match).

    One entry per added, removed or changed tool; with the stored descriptions ``old`` a
    changed tool shows each changed field as old -> new.
    """
    now, canon = pins_for(current)
    if now.digest == pinned.digest:
        return []
    before = {str(t.get("name", "")): t for t in old or ()}
    after = {str(t.get("name", "")): t for t in canon}
    lines: list[str] = []
    for name in sorted(set(pinned.tools) | set(now.tools)):
        was, is_ = pinned.tools.get(name), now.tools.get(name)
        if was == is_:
            continue
        if was is None:
            lines.append(f"added tool {name!r}: {_short(after[name].get('description', ''))}")
        elif is_ is None:
            lines.append(f"removed tool {name!r}")
        elif name in before:
            for key in PINNED_FIELDS:
                a, b = before[name].get(key), after[name].get(key)
                if a != b:
                    lines.append(f"changed tool {name!r} {key}: {_short(a)} -> {_short(b)}")
        else:
            lines.append(f"changed tool {name!r} (the pinned text is not on this machine)")
    return lines or ["the tool list changed"]


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# --- the store of canonical descriptions ------------------------------------------------------


def pins_store(settings: Settings) -> Path:
    """Where the canonical descriptions behind the lock's pins are kept (under the data dir)."""
    return settings.data_dir / "trust" / "tool-descriptions"


def _path(store: Path, digest: str) -> Path:
    return store / f"{digest.removeprefix('sha256:')}.json"


def store_descriptions(store: Path, pins: ToolPins, canon: list[dict[str, Any]]) -> None:
    """Keep ``canon`` under its digest (atomic; content-addressed, so writers never conflict)."""
    import rfc8785

    store.mkdir(parents=True, exist_ok=True)
    target = _path(store, pins.digest)
    if target.exists():
        return
    tmp = store / f".{target.name}.{secrets.token_hex(4)}"
    tmp.write_bytes(rfc8785.dumps(canon))
    os.replace(tmp, target)


def load_descriptions(store: Path, pins: ToolPins) -> list[dict[str, Any]] | None:
    """The stored descriptions of ``pins`` when present and intact (their digest checked)."""
    try:
        data = _path(store, pins.digest).read_bytes()
    except OSError:
        return None
    try:
        canon = json.loads(data)
    except ValueError:
        return None
    if not isinstance(canon, list) or _digest(canon) != pins.digest:
        return None  # tampered or damaged: no diff rather than a false one
    return canon
