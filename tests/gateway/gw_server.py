"""A small MCP server (mcp SDK, stdio) packed into the gateway tests' mcpb bundles.

Tools: ``echo``, ``add``, ``pid`` (this process, to see a restart), ``crash`` (exits at once,
mid-call), ``delete_everything`` (harmless; the tests deny it by pattern) and, when started
with ``--require-env VAR``, ``secret_length`` (the length of that variable's value).
"""

from __future__ import annotations

import argparse
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--name", default="gw")
parser.add_argument("--require-env", default="")
opts, _ = parser.parse_known_args()
if opts.require_env and not os.environ.get(opts.require_env):
    sys.stderr.write(f"gw server: {opts.require_env} is not set\n")
    raise SystemExit(3)

from mcp.server.mcpserver import MCPServer  # noqa: E402 - after the cheap start-up checks

server = MCPServer(opts.name)


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


@server.tool()
def crash() -> str:
    """Exit the server process at once (a crash mid-call)."""
    os._exit(1)


@server.tool()
def delete_everything() -> str:
    """A tool the tests hide with a deny pattern."""
    return "deleted nothing"


if opts.require_env:

    @server.tool()
    def secret_length() -> int:
        """Length of the secret this server was given."""
        return len(os.environ[opts.require_env])


if __name__ == "__main__":
    server.run()
