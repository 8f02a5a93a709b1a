"""`mgx model …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Pull, serve, monitor and switch local models (vLLM).", no_args_is_help=True)
