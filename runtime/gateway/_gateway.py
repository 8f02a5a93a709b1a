"""``Gateway``: one MCP server in front of a project's locked tools.

``open_gateway`` checks everything it can before anything listens or starts: the project,
the lock, the tool set, the tool filter from ``mgx.toml``, the transport and, off loopback,
the bearer token. ``Gateway.serve_stdio`` (plain JSON-RPC, ``_stdio``) / ``serve_http`` (the
mcp SDK's low-level server) then serve until the client goes away or the process is told to
stop, and always stop every server they started. Both answer through ``list_tools`` and
``call_tool`` here, which is where every call is audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import GatewayError
from runtime.gateway._audit import AuditLog, Redactor
from runtime.gateway._backends import Backends
from runtime.gateway._options import GatewayOptions, is_loopback
from runtime.gateway._version import mgx_version

if TYPE_CHECKING:
    from marketplace.settings import Settings
    from runtime.gateway._stdio_backend import Notify

log = logging.getLogger(__name__)

__all__ = ["INSTRUCTIONS", "Gateway", "open_gateway"]

INSTRUCTIONS = "Tools of an mgx project's locked tool set, named server__tool."


def open_gateway(
    options: GatewayOptions,
    *,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
    on_warning: Callable[[str], None] = lambda _w: None,
) -> Gateway:
    """Validate ``options`` against the project and build the gateway (nothing started).

    Raises ``GatewayError`` (exit 2) for options that cannot work, and the marketplace's
    errors for a missing project, lock or tool set.
    """
    from marketplace.project import find_project, lookup_tool
    from marketplace.settings import Settings
    from runtime.gateway._listing import ListingCache
    from runtime.tools import ToolFilter
    from runtime.toolset_loader import short_names

    environ = os.environ if environ is None else environ
    token = _check_binding(options, environ)
    settings = settings or Settings.from_env()
    project = find_project(options.project, settings=settings, env=environ)
    lock = project.lock()
    if not lock.tools:
        raise GatewayError(f"no tools are locked in {project.root}; run `mgx tool install NAME`")
    tool_filter = None
    if options.tool is not None:
        names = [lookup_tool(lock, options.tool)]
    elif options.toolset is not None:
        if options.toolset not in lock.toolsets:
            known = ", ".join(sorted(lock.toolsets)) or "none"
            raise GatewayError(f"no tool set {options.toolset!r} in mgx.lock (tool sets: {known})")
        names = sorted(lock.toolsets[options.toolset])
        allow, deny = project.manifest(strict=False).tool_filters.get(options.toolset, ((), ()))
        if allow or deny:
            tool_filter = ToolFilter(allow=allow, deny=deny)
    else:
        names = sorted(lock.tools)
    state = settings.state_dir / "gateway"
    redactor = Redactor(
        [token or "", *(environ.get(v, "") for n in names for v in lock.tools[n].env.values())]
    )
    audit_path = None if options.no_audit else (options.audit_log or state / "audit.jsonl")
    shorts = short_names(names)
    backends = Backends(
        project,
        {n: lock.tools[n] for n in names},
        short_names=shorts,
        prefix=options.tool is None,
        tool_filter=tool_filter,
        listing=ListingCache(state / "tools.json"),
        redactor=redactor,
        log_dir=state / "logs",
        call_timeout=options.call_timeout,
        startup_timeout=options.startup_timeout,
        on_warning=on_warning,
    )
    audit = AuditLog(
        audit_path.expanduser() if audit_path else None,
        log_args=options.log_args,
        redactor=redactor,
    )
    return Gateway(options, backends=backends, audit=audit, token=token)


def _check_binding(options: GatewayOptions, environ: Mapping[str, str]) -> str | None:
    """The bearer token to require (None: none), refusing an open port without one."""
    if options.transport == "stdio":
        return None
    if options.transport != "streamable-http":
        raise GatewayError(f"unknown transport {options.transport!r} (stdio or streamable-http)")
    if not 0 <= options.port <= 65535:
        raise GatewayError(f"--port must be 0-65535, got {options.port}")
    token = environ.get(options.token_env, "").strip()
    if not is_loopback(options.host) and not token:
        raise GatewayError(
            f"refusing to listen on {options.host} (not loopback) without a bearer token: "
            f"set {options.token_env} (or choose another variable with --token-env)"
        )
    return token or None


class Gateway:
    """A built gateway; serve it once with ``serve_stdio`` or ``serve_http``."""

    def __init__(
        self,
        options: GatewayOptions,
        *,
        backends: Backends,
        audit: AuditLog,
        token: str | None,
    ) -> None:
        self.options = options
        self.backends = backends
        self.audit = audit
        self._token = token

    # --- what both front ends answer -------------------------------------------------------
    async def list_tools(self) -> list[dict[str, Any]]:
        """The ``tools`` of a ``tools/list`` answer (servers without a recorded list start)."""
        return [
            {"name": t.name, "description": t.description, "inputSchema": t.input_schema}
            for t in await self.backends.list_tools()
        ]

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        client: str,
        meta: dict[str, Any] | None = None,
        notify: Notify | None = None,
    ) -> dict[str, Any]:
        """Forward one ``tools/call`` and audit it; returns the ``CallToolResult`` to send.

        A cancelled call (the client cancelled it, or the gateway is stopping) is audited as
        failed before the cancellation goes on.
        """
        started = time.perf_counter()
        try:
            called = await self.backends.call(name, arguments, meta=meta, notify=notify)
        except asyncio.CancelledError:
            where = self.backends.resolve(name)
            self.audit.record(
                client=client,
                tool=name,
                server=where[0] if where else "",
                started=started,
                ok=False,
                error="cancelled",
                arguments=arguments,
            )
            raise
        self.audit.record(
            client=client,
            tool=name,
            server=called.server,
            started=started,
            ok=called.error is None,
            error=called.error,
            arguments=arguments,
        )
        return called.result

    # --- the MCP server (mcp SDK: streamable HTTP, embedding) ------------------------------
    def mcp_server(self) -> Any:
        """The SDK's low-level ``Server`` answering ``tools/list`` and ``tools/call``."""
        import mcp_types as types
        from mcp.server.lowlevel import Server

        async def list_tools(ctx: Any, params: Any) -> Any:
            return types.ListToolsResult.model_validate({"tools": await self.list_tools()})

        async def call_tool(ctx: Any, params: Any) -> Any:
            # No _meta is passed on: progress from the server is not relayed over HTTP, and
            # a 2026-era request's reserved _meta keys are not the server's business.
            result = await self.call_tool(
                params.name, dict(params.arguments or {}), client=_client_of(ctx)
            )
            return types.CallToolResult.model_validate(result)

        return Server(
            "mgx-gateway",
            version=mgx_version(),
            instructions=INSTRUCTIONS,
            on_list_tools=list_tools,
            on_call_tool=call_tool,
        )

    # --- transports ------------------------------------------------------------------------
    async def serve_stdio(self, on_ready: Callable[[str], None] = lambda _m: None) -> None:
        """Serve MCP on stdin/stdout until stdin closes (or the task is cancelled)."""
        from runtime.gateway._stdio import serve_stdio

        try:
            await serve_stdio(self, on_ready=lambda: on_ready(self._ready_line("stdio")))
        finally:
            await self.aclose()

    async def serve_http(self, on_ready: Callable[[str], None] = lambda _m: None) -> None:
        """Serve streamable HTTP at ``http://HOST:PORT/mcp`` until cancelled or signalled."""
        import uvicorn

        from runtime.gateway._auth import BearerGuard

        server = self.mcp_server()
        app: Any = server.streamable_http_app(host=self.options.host)
        if self._token:
            app = BearerGuard(app, self._token)
        sock = _bind(self.options.host, self.options.port)
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        web = uvicorn.Server(config)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        # Signals are the caller's to handle (it cancels this task): uvicorn's own handlers
        # would re-raise SIGTERM after its shutdown, before the servers behind it are stopped.
        setattr(web, "capture_signals", contextlib.nullcontext)  # noqa: B010 - a method
        try:
            with sock:
                on_ready(self._ready_line(f"http://{shown}:{port}/mcp"))
                serving = asyncio.ensure_future(web.serve(sockets=[sock]))
                try:
                    await asyncio.shield(serving)
                except asyncio.CancelledError:
                    web.should_exit = True  # a graceful stop: open requests are answered
                    await serving
                    raise
        finally:
            await self.aclose()

    def _ready_line(self, where: str) -> str:
        lazy = "from recorded lists" if self.backends.recorded() else "servers start on demand"
        auth = ", bearer token required" if self._token else ""
        count = len(self.backends.status())
        return f"gateway ready at {where} ({count} servers, tools/list {lazy}{auth})"

    async def aclose(self) -> None:
        """Stop every server this gateway started and close the audit log."""
        await asyncio.shield(self.backends.aclose())
        self.audit.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise GatewayError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.setblocking(False)
    return sock


def _client_of(ctx: Any) -> str:
    """``name/version`` of the MCP client, plus its address over HTTP."""
    parts = []
    with contextlib.suppress(Exception):  # older protocol eras may not carry client info
        info = ctx.session.client_params.client_info
        parts.append(f"{info.name}/{info.version}")
    request = getattr(ctx, "request", None)
    peer = getattr(request, "client", None)
    if peer is not None:
        parts.append(f"{peer.host}:{peer.port}")
    return " ".join(parts) or "unknown"
