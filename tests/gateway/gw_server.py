"""A small MCP server (mcp SDK, stdio) packed into the gateway tests' mcpb bundles.

Tools: ``echo``, ``add``, ``pid`` (this process, to see a restart), ``crash`` (exits at once,
mid-call), ``delete_everything`` (harmless; the tests deny it by pattern) and, when started
with ``--require-env VAR``, ``secret_length`` (the length of that variable's value).

For the forwarding tests: ``wait_gate`` / ``release`` (a call that answers only once another
call opened its gate, so answers come back in an order the test chooses), ``block`` /
``block_started`` / ``cancelled_seen`` (a call that waits until it is cancelled, and two
that report, by waiting on events, that it started and that the cancellation arrived),
``freeze`` (a server that stops answering anything), ``fail`` (a tool error result),
``rpc_error`` (a JSON-RPC error answer), ``big`` (a large result), ``progress`` (progress
notifications) and ``rich`` / ``numbers`` (image content, structured content: both must
pass through unchanged).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import time
from typing import Any

parser = argparse.ArgumentParser()
parser.add_argument("--name", default="gw")
parser.add_argument("--require-env", default="")
opts, _ = parser.parse_known_args()
if opts.require_env and not os.environ.get(opts.require_env):
    sys.stderr.write(f"gw server: {opts.require_env} is not set\n")
    raise SystemExit(3)

from mcp.server.mcpserver import Context, Image, MCPServer  # noqa: E402 - after the checks
from mcp.server.mcpserver.exceptions import ToolError  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

server = MCPServer(opts.name)
_gates: dict[str, asyncio.Event] = {}
_started = asyncio.Event()
_cancelled = asyncio.Event()
_EVENT_TIMEOUT = 60.0  # a test that went wrong fails instead of hanging
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _gate(key: str) -> asyncio.Event:
    return _gates.setdefault(key, asyncio.Event())


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


@server.tool()
async def wait_gate(key: str, text: str) -> str:
    """Return the text once ``release(key)`` was called."""
    await asyncio.wait_for(_gate(key).wait(), _EVENT_TIMEOUT)
    return text


@server.tool()
def release(key: str) -> str:
    """Open the gate ``key``."""
    _gate(key).set()
    return key


@server.tool()
async def block() -> str:
    """Wait until this call is cancelled."""
    _started.set()
    try:
        await asyncio.Event().wait()
    finally:
        _cancelled.set()
    return "never"


@server.tool()
async def block_started() -> str:
    """Answer once a ``block`` call has started."""
    await asyncio.wait_for(_started.wait(), _EVENT_TIMEOUT)
    return "started"


@server.tool()
async def cancelled_seen() -> str:
    """Answer once a ``block`` call was cancelled."""
    await asyncio.wait_for(_cancelled.wait(), _EVENT_TIMEOUT)
    return "cancelled"


@server.tool()
async def freeze() -> str:
    """Block the whole server (its event loop) for two minutes: a hung server."""
    time.sleep(120)  # noqa: ASYNC251 - blocking on purpose: pings go unanswered too
    return "thawed"


@server.tool()
def fail(message: str) -> str:
    """Fail with ``message`` (a tool error result)."""
    raise ToolError(message)


@server.tool()
def rpc_error(message: str) -> str:
    """Answer with a JSON-RPC error carrying ``message``."""
    raise MCPError(code=-32001, message=message)


@server.tool()
def big(size: int) -> str:
    """A text of ``size`` characters."""
    return ("abcdefghijklmnopqrstuvwxyz" * (size // 26 + 1))[:size]


@server.tool()
async def progress(steps: int, ctx: Context) -> str:
    """Report ``steps`` progress notifications, then answer."""
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"step {step}")
    return "done"


@server.tool(structured_output=False)
def rich() -> list[Any]:
    """An image and a text block (content that is not plain text)."""
    return [Image(data=PNG, format="png"), "a pixel"]


@server.tool()
def getenv(name: str) -> str:
    """The value of environment variable NAME as this server sees it ("<unset>" if not)."""
    return os.environ.get(name, "<unset>")


@server.tool()
def numbers() -> dict[str, int]:
    """Structured content."""
    return {"one": 1, "two": 2}


if opts.require_env:

    @server.tool()
    def secret_length() -> int:
        """Length of the secret this server was given."""
        return len(os.environ[opts.require_env])


if __name__ == "__main__":
    server.run()
