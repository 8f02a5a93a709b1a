"""Run a gateway as a command does: ``run_gateway`` (typer-free) and the fast command line.

``mgx tool serve`` on stdio is what an MCP client starts at every session, and it should be
ready at once; typer and click alone take longer to import than everything the gateway
needs. So the console script offers its argv to ``run_fast`` first (like the marketplace's
``tool sync --frozen`` and ``tool search`` fast paths): ``tool serve`` and ``tool run NAME``
on stdio with their options written plainly (``--toolset T``/``-t T``, ``--project D``/
``-C D``, ``--audit-log F``, ``--no-audit``, ``--log-args``, ``--call-timeout S``,
``--startup-timeout S``, ``--transport stdio``) are run here. Anything else (``--help``,
``--option=value``, streamable HTTP, a bad number, ``--debug``) returns None and the full CLI
handles it, with the same behaviour and messages. Nothing is printed on stdout: on stdio that
is the MCP channel; the ready line and warnings go to stderr.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.gateway._gateway import Gateway
    from runtime.gateway._options import GatewayOptions

__all__ = ["note", "run_fast", "run_gateway"]

_VALUED = {
    "--toolset": "toolset",
    "-t": "toolset",
    "--project": "project",
    "-C": "project",
    "--audit-log": "audit_log",
    "--call-timeout": "call_timeout",
    "--startup-timeout": "startup_timeout",
    "--transport": "transport",
}
_FLAGS = {"--no-audit": "no_audit", "--log-args": "log_args"}


def note(message: str) -> None:
    """One line on stderr, prefixed ``mgx:``."""
    sys.stderr.write(f"mgx: {message}\n")
    sys.stderr.flush()


def run_gateway(options: GatewayOptions) -> None:
    """Check ``options``, then serve until the client goes away or a signal arrives."""
    from runtime.gateway._gateway import open_gateway

    gateway = open_gateway(options, on_warning=lambda w: note(f"warning: {w}"))
    try:
        asyncio.run(_serve(gateway))
    except KeyboardInterrupt:
        pass  # the servers were stopped on the way out; Ctrl-C is a normal way to end


async def _serve(gateway: Gateway) -> None:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, task.cancel)
    try:
        if gateway.options.transport == "stdio":
            await gateway.serve_stdio(on_ready=note)
        else:
            await gateway.serve_http(on_ready=note)
    except asyncio.CancelledError:
        pass  # a signal: serve_* stopped every server before the cancellation reached here


def _parse(argv: list[str]) -> dict[str, Any] | None:
    """The ``GatewayOptions`` fields of a plain stdio ``tool serve`` / ``tool run NAME``."""
    if argv[:2] not in (["tool", "serve"], ["tool", "run"]):
        return None
    serve = argv[1] == "serve"
    fields: dict[str, Any] = {}
    rest = argv[2:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        value = rest[i + 1] if i + 1 < len(rest) and not rest[i + 1].startswith("-") else None
        if arg in _FLAGS:
            fields[_FLAGS[arg]] = True
        elif arg in _VALUED and value is not None:
            key = _VALUED[arg]
            if key in fields or (key in ("toolset", "transport") and not serve):
                return None
            fields[key] = value
            i += 1
        elif not serve and not arg.startswith("-") and "tool" not in fields:
            fields["tool"] = arg
        else:
            return None
        i += 1
    if fields.pop("transport", "stdio") != "stdio" or (not serve and "tool" not in fields):
        return None
    try:
        for key in ("call_timeout", "startup_timeout"):
            if key in fields:
                fields[key] = float(fields[key])
    except ValueError:
        return None  # the full CLI says what is wrong with it
    for key in ("project", "audit_log"):
        if key in fields:
            fields[key] = Path(fields[key])
    return fields


def run_fast(argv: list[str]) -> int | None:
    """Run ``argv`` if it is a plain stdio gateway command; None when the full CLI must."""
    fields = _parse(argv)
    if fields is None:
        return None
    from marketplace.errors import MarketplaceError
    from registry_cache.errors import CacheError
    from runtime.errors import MgxRuntimeError
    from runtime.gateway._options import GatewayOptions

    try:
        run_gateway(GatewayOptions(**fields))
    except KeyboardInterrupt:
        sys.stderr.write("mgx: interrupted\n")
        return 130
    except Exception as exc:  # as the full CLI reports it (runtime.cli.main)
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, (MarketplaceError, CacheError, MgxRuntimeError)):
            sys.stderr.write(f"mgx: error: {message}\n")
            return int(getattr(exc, "exit_code", 1))
        sys.stderr.write(
            f"mgx: internal error: {type(exc).__name__}: {message} (rerun with --debug)\n"
        )
        return 70
    return 0
