"""`mgx registry …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage registries and the local registry cache.", no_args_is_help=True)
