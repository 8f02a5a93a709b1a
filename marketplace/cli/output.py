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


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
    """Print a table with rich (imported here: only commands that draw tables pay for it)."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, show_edge=False, header_style="bold", pad_edge=False)
    for column in columns:
        t.add_column(column, overflow="fold")
    for row in rows:
        t.add_row(*("" if cell is None else str(cell) for cell in row))
    Console(soft_wrap=False).print(t)
