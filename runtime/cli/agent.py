"""`mgx agent …` command."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the ``agent`` command to the root app."""
