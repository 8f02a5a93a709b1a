"""Prove that an installed server runs: start it, MCP ``initialize`` + ``tools/list``, stop it.

Used by ``mgx tool check`` and by ``mgx tool install`` before it commits. A stdio server is
started by the mcp SDK's stdio client, which owns the process and kills its whole tree on the
way out; a package serving HTTP is started here and connected to over its URL; a remote is
only connected to. The server's stderr goes to an anonymous temporary file (it is never kept:
a server may print its own secrets) whose last lines explain a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, TextIO

from marketplace.errors import InstallError
from marketplace.installers._io import tail
from marketplace.installers._model import LaunchSpec

_HTTP_POLL = 0.25


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """What the server said about itself."""

    tools: list[str]
    server_name: str
    server_version: str
    seconds: float = 0.0


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
        except Exception as exc:
            raise InstallError(
                f"{label} failed to start: {_describe(exc)}{_stderr_hint(errlog)}"
            ) from exc
    return CheckResult(
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
        params = StdioServerParameters(
            command=launch.command[0],
            args=list(launch.command[1:]),
            env=dict(launch.env),
            cwd=launch.cwd,
        )
        async with Client(stdio_client(params, errlog=errlog), client_info=info) as client:
            yield client
        return
    if not launch.url:
        raise InstallError(f"{launch.name}: {launch.transport} server has no URL")
    async with contextlib.AsyncExitStack() as stack:
        if launch.command:  # a package that serves HTTP: we own its process
            proc = stack.enter_context(_http_process(launch, errlog))
            await _wait_listening(launch.url, proc)
        client = await stack.enter_async_context(_remote_client(launch, info))
        yield client


@contextlib.asynccontextmanager
async def _remote_client(launch: LaunchSpec, info: Any) -> AsyncIterator[Any]:
    from mcp import Client

    async with _remote_transport(launch) as transport, Client(transport, client_info=info) as c:
        yield c


async def _wait_listening(url: str, proc: subprocess.Popen[Any]) -> None:
    """Poll until the server's port accepts connections (the caller's timeout bounds this)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    while True:
        if proc.poll() is not None:
            raise InstallError(f"the server exited with status {proc.returncode} before listening")
        try:
            _, writer = await asyncio.open_connection(parts.hostname, port)
        except OSError:
            await asyncio.sleep(_HTTP_POLL)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return


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


@contextlib.contextmanager
def _http_process(launch: LaunchSpec, errlog: TextIO) -> Any:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "USER")}
    env.update(launch.env)
    proc = subprocess.Popen(
        list(launch.command),
        cwd=launch.cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=errlog,
        stderr=errlog,
        start_new_session=True,  # its own process group: stopping it stops its children too
    )
    try:
        yield proc
    finally:
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen[Any]) -> None:
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group


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
