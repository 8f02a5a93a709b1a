"""Rendering for the CLI: JSON on stdout, tables on stdout, notes on stderr.

The library never prints; CLI commands call one library function and hand the result here.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "__fspath__"):
        return str(value)
    return value


def emit_json(value: Any) -> None:
    """Print ``value`` as JSON (dataclasses become objects)."""
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, sort_keys=False) + "\n")


def note(message: str) -> None:
    """A one-line remark for humans; stderr so that ``--json`` output stays parseable."""
    sys.stderr.write(message + "\n")


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    no_wrap: Sequence[str] = (),
    one_line: Sequence[str] = (),
) -> None:
    """Print a table with rich (imported here: only commands that draw tables pay for it).

    Columns named in ``no_wrap`` keep their full width (names, versions); those in
    ``one_line`` are cut with an ellipsis to fit a terminal (descriptions), and printed whole
    when the output is not a terminal.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    width = None if (sys.stdout.isatty() or not one_line) else 10_000
    console = Console(soft_wrap=False, width=width)
    fixed = {
        i: max([len(column), *(len(r[i]) for r in cells)])
        for i, column in enumerate(columns)
        if column in no_wrap
    }
    # What the fixed columns and the separators (" │ ") leave for the one-line columns.
    spare = console.width - sum(fixed.values()) - 3 * (len(columns) - 1)
    share = max(12, spare // max(1, sum(1 for c in columns if c in one_line)))
    t = Table(title=title, show_edge=False, header_style="bold", pad_edge=False)
    for i, column in enumerate(columns):
        if i in fixed:
            t.add_column(column, no_wrap=True, min_width=fixed[i])
        elif column in one_line:
            t.add_column(column, no_wrap=True, overflow="ellipsis", max_width=share)
        else:
            t.add_column(column, overflow="fold")
    for row in cells:
        t.add_row(*(Text(cell) for cell in row))  # Text: registry data is not rich markup
    console.print(t)
