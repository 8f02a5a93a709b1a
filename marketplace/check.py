"""Prove that an installed server runs: start it, MCP ``initialize`` + ``tools/list``, stop it.

Used by ``mgx tool check`` and by ``mgx tool install`` before it commits. A stdio server is
started by the mcp SDK's stdio client, which owns the process and kills its whole group on
the way out (the command runs leashed, so it also dies with mgx); a package serving HTTP is
started here and connected to over its URL; a remote is only connected to. The server's
stderr goes to an anonymous temporary file (it is never kept: a server may print its own
secrets) whose last lines explain a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, TextIO

from marketplace._process import ServerExited, inherited_env, leash, listening_process
from marketplace.errors import InstallError
from marketplace.installers._io import tail
from marketplace.installers._model import LaunchSpec
from marketplace.tool_pins import ToolPins, pins_for


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """What the server said about itself."""

    tools: list[str]
    server_name: str
    server_version: str
    seconds: float = 0.0
    # What the model would see, for pinning (see marketplace.tool_pins): the digests and the
    # canonical descriptions they were computed from.
    pins: ToolPins | None = None
    descriptions: tuple[dict[str, Any], ...] = ()


def check_server(launch: LaunchSpec, *, timeout: float = 30) -> CheckResult:
    """Start the server, list its tools and stop it; raises ``InstallError`` on failure.

    Synchronous wrapper of ``acheck_server`` for the CLI (call that one inside an event loop).
    """
    return asyncio.run(acheck_server(launch, timeout=timeout))


async def acheck_server(launch: LaunchSpec, *, timeout: float = 30) -> CheckResult:
    """``check_server`` for callers that already run an event loop."""
    label = launch.name or (launch.command[0] if launch.command else launch.url)
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        try:
            async with asyncio.timeout(timeout):
                async with _session(launch, errlog) as client:
                    tools = await _list_tools(client)
                    info = client.server_info
        except TimeoutError:
            raise InstallError(
                f"{label} did not start within {timeout:g}s{_stderr_hint(errlog)}"
            ) from None
        except InstallError:
            raise
        except ServerExited as exc:
            raise InstallError(f"{label} {exc}{_stderr_hint(errlog)}") from None
        except Exception as exc:
            raise InstallError(
                f"{label} failed to start: {_describe(exc)}{_stderr_hint(errlog)}"
            ) from exc
    pins, canon = pins_for(tools)
    return CheckResult(
        pins=pins,
        descriptions=tuple(canon),
        tools=sorted(t.name for t in tools),
        server_name=getattr(info, "name", "") or "",
        server_version=getattr(info, "version", "") or "",
        seconds=round(time.perf_counter() - started, 3),
    )


@contextlib.asynccontextmanager
async def _session(launch: LaunchSpec, errlog: TextIO) -> AsyncIterator[Any]:
    from mcp import Client  # imported lazily: `mgx --help` must not import mcp
    from mcp.types import Implementation

    info = Implementation(name="mgx-check", version="1")
    if launch.transport == "stdio":
        from mcp.client.stdio import StdioServerParameters, stdio_client

        if not launch.command:
            raise InstallError(f"{launch.name}: nothing to start (empty command)")
        # The SDK starts it in a new session and stops that group; the leash adds "dies with
        # mgx". The SDK looks the program up on PATH from its default environment.
        argv = leash(launch.command, env={**os.environ, **launch.env}, cwd=launch.cwd)
        params = StdioServerParameters(
            command=argv[0], args=argv[1:], env=inherited_env() | dict(launch.env), cwd=launch.cwd
        )
        async with Client(stdio_client(params, errlog=errlog), client_info=info) as client:
            yield client
        return
    if not launch.url:
        raise InstallError(f"{launch.name}: {launch.transport} server has no URL")
    async with contextlib.AsyncExitStack() as stack:
        if launch.command:  # a package that serves HTTP: we own its process
            await stack.enter_async_context(
                listening_process(
                    launch.command,
                    url=launch.url,
                    env=launch.env,
                    cwd=launch.cwd,
                    errlog=errlog,
                )
            )
        client = await stack.enter_async_context(_remote_client(launch, info))
        yield client


@contextlib.asynccontextmanager
async def _remote_client(launch: LaunchSpec, info: Any) -> AsyncIterator[Any]:
    from mcp import Client

    async with _remote_transport(launch) as transport, Client(transport, client_info=info) as c:
        yield c


@contextlib.asynccontextmanager
async def _remote_transport(launch: LaunchSpec) -> AsyncIterator[Any]:
    import httpx2  # the HTTP library the mcp SDK's transports are written against

    headers = dict(launch.headers)
    if launch.transport == "sse":
        from mcp.client.sse import sse_client

        yield sse_client(launch.url, headers=headers)
        return
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0)) as http:
        yield streamable_http_client(launch.url, http_client=http)


async def _list_tools(client: Any) -> list[Any]:
    tools: list[Any] = []
    cursor: str | None = None
    for _ in range(100):  # a server paginating forever cannot hang the check
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _stderr_hint(errlog: TextIO) -> str:
    try:
        errlog.flush()
        errlog.seek(0)
        text = errlog.read()
    except (OSError, ValueError):
        return ""
    last = tail(text, lines=3, width=300)
    return f" (stderr: {last})" if last else ""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _describe(exc.exceptions[0])
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
