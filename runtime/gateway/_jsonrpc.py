"""The few JSON-RPC 2.0 / MCP wire constants and encoders the gateway's fast path needs.

Kept free of the mcp SDK on purpose: importing it (pydantic models for the whole protocol)
costs more than half a second, and the stdio gateway answers without it.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "HANDSHAKE_VERSIONS",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "LATEST_HANDSHAKE_VERSION",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "encode",
    "error",
    "result",
]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602

# The protocol revisions negotiated with the ``initialize`` handshake (oldest first), as the
# mcp SDK this project pins lists them (tests/gateway checks the two agree).
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST_HANDSHAKE_VERSION = HANDSHAKE_VERSIONS[-1]


def encode(message: dict[str, Any]) -> bytes:
    """One message as one line (compact; non-ASCII kept as UTF-8, as the SDK writes it)."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode() + b"\n"
    except UnicodeEncodeError:  # a lone surrogate (valid JSON, not UTF-8): escape everything
        return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def result(ident: Any, value: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "result": value}


def error(ident: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "error": {"code": code, "message": message}}
