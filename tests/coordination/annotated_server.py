"""An MCP server (stdio, mcp SDK) whose tools carry MCP annotations, for planning mode.

``lookup`` is marked read-only; ``write_note`` is destructive (it writes the file it is
given); ``count`` has no annotations at all (MCP's defaults: not read-only).
"""

from __future__ import annotations

from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("notes")


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def lookup(key: str) -> str:
    """Look a fact up (read-only)."""
    return {"capital_of_france": "Paris"}.get(key, "unknown")


@server.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True))
def write_note(path: str, text: str) -> str:
    """Write ``text`` to the file ``path`` (a side effect)."""
    Path(path).write_text(text)
    return f"wrote {len(text)} characters to {path}"


@server.tool()
def count(text: str) -> int:
    """Count the characters of ``text`` (no annotations)."""
    return len(text)


if __name__ == "__main__":
    server.run()
