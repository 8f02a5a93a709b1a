"""`mgx tool …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Find, install and manage MCP servers (tools).", no_args_is_help=True)
