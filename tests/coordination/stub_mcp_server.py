"""A stand-in for the MCP servers that MassGen's example configs start (``npx -y
@fak111/weather-mcp``, ``python -m massgen.tests.mcp_test_server``...): a real MCP server
(mcp SDK) that ignores its arguments, so those configs run offline, unchanged.

``python stub_mcp_server.py [anything...]`` serves stdio; ``--http PORT`` serves streamable
HTTP at ``/mcp``.
"""

from __future__ import annotations

import argparse

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

parser = argparse.ArgumentParser()
parser.add_argument("--http", type=int, default=0)
opts, _ignored = parser.parse_known_args()

server = MCPServer("stub")


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def get_current_weather(city: str) -> str:
    """The weather in a city (always the same, offline)."""
    return f"sunny in {city}"


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def mcp_echo(text: str) -> str:
    """Echo the text."""
    return text


if __name__ == "__main__":
    if opts.http:
        server.run("streamable-http", host="127.0.0.1", port=opts.http)
    else:
        server.run()
