"""`mgx tool …` commands: the group, assembled from one module per family of verbs."""

from __future__ import annotations

import typer

from marketplace.cli import tool_find, tool_manage, tool_usage

app = typer.Typer(help="Find, install and manage MCP servers (tools).", no_args_is_help=True)
tool_find.register(app)  # search, info
tool_manage.register(app)  # install, remove, list, outdated, update, sync, check, export,
# verify, trust
tool_usage.register(app)  # usage, recommend
