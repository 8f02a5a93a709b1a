"""A small MCP server (mcp SDK, stdio) packed into the test bundles.

``python echo_server.py [--name N] [--fail] [--require-env VAR] [--http PORT]``; tools: ``echo`` and
``version`` (the bundle's version, from ``ECHO_VERSION`` baked into the bundle).
"""

from __future__ import annotations

import argparse
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--name", default="echo")
parser.add_argument("--fail", action="store_true", help="exit at once with an error")
parser.add_argument("--require-env", default="")
parser.add_argument("--http", type=int, default=0, help="serve streamable HTTP on this port")
parser.add_argument("rest", nargs="*")
opts, _ = parser.parse_known_args()
if opts.fail:
    sys.stderr.write("echo server: broken build, refusing to start\n")
    raise SystemExit(2)
if opts.require_env and not os.environ.get(opts.require_env):
    sys.stderr.write(f"echo server: {opts.require_env} is not set\n")
    raise SystemExit(3)

from mcp.server.mcpserver import MCPServer  # noqa: E402 - after the cheap start-up checks

server = MCPServer(opts.name)
VERSION = "@VERSION@"


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def version() -> str:
    """The bundle's version."""
    return VERSION


if __name__ == "__main__":
    if opts.http:
        server.run("streamable-http", host="127.0.0.1", port=opts.http)
    else:
        server.run()
