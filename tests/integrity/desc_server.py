"""A small MCP server (mcp SDK, stdio) whose tool descriptions come from a file.

``python desc_server.py --desc-file PATH``: tool ``lookup``'s description is the file's first
line; a second line, when present, adds a tool ``extra`` described by it. Changing the file
between runs is how the tests make a server change what it tells the model ("rug pull").
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mcp.server.mcpserver import MCPServer

parser = argparse.ArgumentParser()
parser.add_argument("--desc-file", required=True)
opts, _ = parser.parse_known_args()
lines = Path(opts.desc_file).read_text(encoding="utf-8").splitlines()

server = MCPServer("desc")


def lookup(key: str) -> str:
    return f"value of {key}"


server.add_tool(lookup, name="lookup", description=lines[0])
if len(lines) > 1:

    def extra() -> str:
        return "extra"

    server.add_tool(extra, name="extra", description=lines[1])

if __name__ == "__main__":
    server.run()
