"""A small MCP server (stdio) written with the mcp SDK, started by the agent tests.

Run as ``python mcp_demo_server.py [--name NAME] [--prefix P]``. Tools cover the cases the
runtime must handle: plain results, errors, slow calls, a crash mid-call, a server that stops
answering, binary content, and the server's own pid (for orphan checks).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import time

from mcp.server.mcpserver import MCPServer
from mcp.types import ImageContent, TextContent

parser = argparse.ArgumentParser()
parser.add_argument("--name", default="demo")
parser.add_argument("--fail-start", action="store_true", help="exit before serving")
parser.add_argument("--marker", default="", help="file that gets 'pid time' on every start")
parser.add_argument("--startup-delay", type=float, default=0.0, help="seconds before serving")
parser.add_argument("--http", type=int, default=0, help="serve streamable HTTP on this port")
opts = parser.parse_args()

if opts.marker:
    with open(opts.marker, "a") as fh:
        fh.write(f"{os.getpid()} {time.time()}\n")
if opts.startup_delay:
    time.sleep(opts.startup_delay)
if opts.fail_start:
    import sys

    sys.stderr.write("demo server: refusing to start (--fail-start)\n")
    raise SystemExit(2)

server = MCPServer(opts.name)


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep (without blocking the server) and then answer."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
async def hang() -> str:
    """Block the server's event loop: the whole server stops answering."""
    time.sleep(3600)
    return "never"


@server.tool()
def crash() -> str:
    """Kill the server process in the middle of the call."""
    os._exit(3)


@server.tool()
def fail(message: str) -> str:
    """Raise an error from inside the tool."""
    raise ValueError(message)


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def picture() -> list[TextContent | ImageContent]:
    """Return a caption and a tiny PNG."""
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 64).decode()
    return [
        TextContent(type="text", text="a picture"),
        ImageContent(type="image", data=png, mime_type="image/png"),
    ]


@server.tool()
def env(key: str) -> str:
    """The value of an environment variable in the server ('' when unset)."""
    return os.environ.get(key, "")


if __name__ == "__main__":
    if opts.http:
        server.run("streamable-http", host="127.0.0.1", port=opts.http)
    else:
        server.run()
