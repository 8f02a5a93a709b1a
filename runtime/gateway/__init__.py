"""The MCP gateway: ``mgx tool serve`` / ``mgx tool run`` in front of a locked tool set.

Public surface::

    GatewayOptions   what to serve and how (tool set, transport, host/port, audit)
    open_gateway     validate options against the project and build a ``Gateway``
    Gateway          ``serve_stdio()`` / ``serve_http()``; ``mcp_server()`` for embedding
    preflight        the one check before any locked server starts (see ``preflight.py``)
    is_loopback      whether a bind address only accepts local connections

On stdio the gateway speaks JSON-RPC itself (``_stdio`` in front, ``_stdio_backend`` behind):
no mcp SDK on the hot path; see docs/gateway.md, "Design".
"""

from __future__ import annotations

from runtime.gateway._gateway import Gateway, open_gateway
from runtime.gateway._options import DEFAULT_PORT, DEFAULT_TOKEN_ENV, GatewayOptions, is_loopback
from runtime.gateway.preflight import Preflight, preflight

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_TOKEN_ENV",
    "Gateway",
    "GatewayOptions",
    "Preflight",
    "is_loopback",
    "open_gateway",
    "preflight",
]
