"""A tiny MCP server (mcp SDK) started by the installer tests, over stdio or streamable HTTP.

``python tiny_server.py [--name N] [--http PORT] [--pidfile F] [--require-env VAR]
[--fail-start] [--hang]``. Tools: ``echo``, ``argv`` (the server's own argv) and ``env_names``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--name", default="tiny")
parser.add_argument("--http", type=int, default=0, help="serve streamable HTTP on this port")
parser.add_argument("--pidfile", default="", help="write the pid here at start")
parser.add_argument("--require-env", default="", help="exit at once unless this var is set")
parser.add_argument("--fail-start", action="store_true", help="print an error and exit")
parser.add_argument("--hang", action="store_true", help="never answer initialize")
parser.add_argument("rest", nargs="*", help="positional values (accepted, ignored)")
opts, _unknown = parser.parse_known_args()

if opts.pidfile:
    with open(opts.pidfile, "w") as fh:
        fh.write(str(os.getpid()))
if opts.fail_start:
    sys.stderr.write("tiny server: configuration file missing, giving up\n")
    raise SystemExit(2)
if opts.require_env and not os.environ.get(opts.require_env):
    sys.stderr.write(f"tiny server: {opts.require_env} is not set\n")
    raise SystemExit(3)
if opts.hang:
    sys.stderr.write("tiny server: hanging before serving\n")
    sys.stderr.flush()
    time.sleep(3600)

from mcp.server.mcpserver import MCPServer  # noqa: E402 - after the cheap start-up checks

server = MCPServer(opts.name)


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def argv() -> list[str]:
    """The server's command line."""
    return sys.argv


@server.tool()
def env_names() -> list[str]:
    """Names of the environment variables the server sees."""
    return sorted(os.environ)


if __name__ == "__main__":
    if opts.http:
        server.run("streamable-http", host="127.0.0.1", port=opts.http)
    else:
        server.run()
