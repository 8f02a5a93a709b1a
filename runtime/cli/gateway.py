"""`mgx tool serve` and `mgx tool run`: the MCP gateway in front of locked tools.

They join the ``mgx tool`` group from here because the gateway lives in ``runtime`` (which
may import the marketplace, not the reverse). Nothing is printed on stdout: on stdio that
is the MCP channel. The ready line and warnings go to stderr. Plain stdio forms of both
commands are run before typer loads (``runtime.gateway.launch.run_fast``); what they do is
the same either way (``run_gateway``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from runtime.gateway import GatewayOptions

PROJECT_HELP = "Project directory holding mgx.toml (default: $MGX_PROJECT, else the nearest one)."


def _run(options: GatewayOptions) -> None:
    from runtime.gateway.launch import run_gateway

    run_gateway(options)


def serve(
    toolset: str | None = typer.Option(
        None, "--toolset", "-t", help="Serve this tool set (default: every locked tool)."
    ),
    transport: str = typer.Option(
        "stdio", "--transport", help="stdio (for a client that starts mgx) or streamable-http."
    ),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to listen on (streamable-http). Off loopback a bearer token is required.",
    ),
    port: int = typer.Option(8765, "--port", help="Port to listen on (streamable-http; 0: any)."),
    token_env: str = typer.Option(
        "MGX_GATEWAY_TOKEN",
        "--token-env",
        help="Environment variable holding the bearer token clients must send (streamable-http).",
    ),
    audit_log: Path | None = typer.Option(
        None, "--audit-log", help="JSONL audit log (default: <state dir>/gateway/audit.jsonl)."
    ),
    no_audit: bool = typer.Option(False, "--no-audit", help="Keep no audit log."),
    log_args: bool = typer.Option(
        False, "--log-args", help="Also log each call's arguments (secrets redacted)."
    ),
    call_timeout: float = typer.Option(300.0, "--call-timeout", help="Seconds per tool call."),
    startup_timeout: float = typer.Option(
        60.0, "--startup-timeout", help="Seconds a server may take to start and list its tools."
    ),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
) -> None:
    """Serve a project's locked tools as one MCP server (tools named server__tool)."""
    from runtime.gateway import GatewayOptions

    _check_transport(transport)
    _run(
        GatewayOptions(
            project=project,
            toolset=toolset,
            transport="stdio" if transport == "stdio" else "streamable-http",
            host=host,
            port=port,
            token_env=token_env,
            audit_log=audit_log,
            no_audit=no_audit,
            log_args=log_args,
            call_timeout=call_timeout,
            startup_timeout=startup_timeout,
        )
    )


def run(
    name: str = typer.Argument(..., help="The locked tool (full, short or package name)."),
    audit_log: Path | None = typer.Option(
        None, "--audit-log", help="JSONL audit log (default: <state dir>/gateway/audit.jsonl)."
    ),
    no_audit: bool = typer.Option(False, "--no-audit", help="Keep no audit log."),
    log_args: bool = typer.Option(
        False, "--log-args", help="Also log each call's arguments (secrets redacted)."
    ),
    call_timeout: float = typer.Option(300.0, "--call-timeout", help="Seconds per tool call."),
    startup_timeout: float = typer.Option(
        60.0, "--startup-timeout", help="Seconds the server may take to start and list its tools."
    ),
    project: Path | None = typer.Option(None, "--project", "-C", help=PROJECT_HELP),
) -> None:
    """Run one locked tool over stdio, with the gateway's checks (tools keep their names)."""
    from runtime.gateway import GatewayOptions

    _run(
        GatewayOptions(
            project=project,
            tool=name,
            audit_log=audit_log,
            no_audit=no_audit,
            log_args=log_args,
            call_timeout=call_timeout,
            startup_timeout=startup_timeout,
        )
    )


def _check_transport(transport: str) -> None:
    if transport not in ("stdio", "streamable-http"):
        from runtime.errors import GatewayError

        raise GatewayError(f"--transport must be stdio or streamable-http, got {transport!r}")


def register(app: typer.Typer) -> None:
    """Attach ``serve`` and ``run`` to the ``mgx tool`` group."""
    app.command("serve")(serve)
    app.command("run")(run)
