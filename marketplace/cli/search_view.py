"""Rendering of ``mgx tool search`` results, shared by the typer command and the fast path.

No typer here: ``marketplace.cli.fast`` answers plain searches before typer is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from marketplace.catalog import RankedHit

__all__ = ["render_search"]


def render_search(ranked: Sequence[RankedHit], query: str, *, as_json: bool) -> None:
    """Print ``ranked`` as JSON or as a table (a note on stderr when nothing matched)."""
    from marketplace.cli.output import emit_json, note, table

    hits = [r.hit for r in ranked]
    verdicts = [r.verdict for r in ranked]
    if as_json:
        emit_json(
            [
                {
                    "name": h.name,
                    "version": h.version,
                    "title": h.title,
                    "description": h.description,
                    "registry": h.registry,
                    "types": list(h.package_types),
                    "transports": list(h.transports),
                    "status": h.status,
                    "curated": h.curated,
                    "score": h.score,
                    "installable": v.installable,
                    "notInstallableReason": v.reason or None,
                }
                for h, v in zip(hits, verdicts, strict=True)
            ]
        )
        return
    if not hits:
        note(f"no servers match {query!r}")
        return
    several = len({h.registry for h in hits}) > 1
    rows = []
    for h, v in zip(hits, verdicts, strict=True):
        marks = (
            (["curated"] if h.curated else [])
            + (["DEPRECATED"] if h.deprecated else [])
            + ([v.label] if v.label else [])
        )
        text = h.title + ": " + h.description if h.title else h.description
        line = " ".join(text.split())
        row = [
            h.name,
            h.version,
            ",".join(h.package_types) or "-",
            (f"[{', '.join(marks)}] " if marks else "") + line,
        ]
        rows.append([*row[:1], h.registry, *row[1:]] if several else row)
    columns = (
        ["NAME", "REGISTRY", "VERSION", "TYPES", "DESCRIPTION"]
        if several
        else ["NAME", "VERSION", "TYPES", "DESCRIPTION"]
    )
    table(
        columns, rows, no_wrap=("NAME", "REGISTRY", "VERSION", "TYPES"), one_line=("DESCRIPTION",)
    )
