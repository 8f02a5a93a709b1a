"""What ``mgx tool serve`` / ``mgx tool run`` were asked for, and the binding rules."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["DEFAULT_PORT", "DEFAULT_TOKEN_ENV", "GatewayOptions", "is_loopback"]

DEFAULT_PORT = 8765
DEFAULT_TOKEN_ENV = "MGX_GATEWAY_TOKEN"
Transport = Literal["stdio", "streamable-http"]


@dataclass(frozen=True, kw_only=True)
class GatewayOptions:
    """Options of one gateway run (every field has the CLI's default)."""

    project: Path | None = None
    toolset: str | None = None  # None: every locked tool
    tool: str | None = None  # `mgx tool run NAME`: this tool alone, under its own tool names
    transport: Transport = "stdio"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token_env: str = DEFAULT_TOKEN_ENV
    audit_log: Path | None = None  # None: <state dir>/gateway/audit.jsonl
    no_audit: bool = False
    log_args: bool = False
    call_timeout: float = 300.0
    startup_timeout: float = 60.0


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere
