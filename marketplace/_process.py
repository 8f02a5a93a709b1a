"""Run a locally installed MCP server that speaks HTTP: start it in its own process group,
wait until its port accepts connections, and stop the whole group on the way out.

Shared by ``mgx tool check`` and the runtime's tool hub (stdio servers are owned by the mcp
SDK's stdio client instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, TextIO
from urllib.parse import urlsplit

# A server gets these from mgx's environment and nothing else besides its own bindings: a
# tool must not see the user's unrelated secrets.
PASSED_ENV = ("PATH", "HOME", "LANG", "TMPDIR", "USER")
_POLL = 0.1
_STOP_WAIT = 5.0


class ServerExited(RuntimeError):
    """The server process ended before it listened."""


@contextlib.asynccontextmanager
async def listening_process(
    command: Sequence[str],
    *,
    url: str,
    env: Mapping[str, str],
    cwd: str | os.PathLike[str] | None,
    errlog: TextIO,
    timeout: float | None = None,
) -> AsyncIterator[subprocess.Popen[Any]]:
    """Start ``command`` and yield once ``url``'s port accepts connections.

    Raises ``ServerExited`` if the process ends first and ``TimeoutError`` after ``timeout``
    seconds (if given; else the caller's own timeout bounds the wait); either way, and on
    leaving the block, the process group is stopped.
    """
    full_env = {k: v for k, v in os.environ.items() if k in PASSED_ENV} | dict(env)
    proc = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=errlog,
        stderr=errlog,
        start_new_session=True,  # its own process group: stopping it stops its children too
    )
    try:
        async with asyncio.timeout(timeout):
            await _wait_listening(proc, url)
        yield proc
    finally:
        await stop_group(proc)


async def _wait_listening(proc: subprocess.Popen[Any], url: str) -> None:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    while True:
        if proc.poll() is not None:
            raise ServerExited(f"exited with status {proc.returncode} before listening")
        try:
            _, writer = await asyncio.open_connection(parts.hostname, port)
        except OSError:
            await asyncio.sleep(_POLL)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return


async def stop_group(proc: subprocess.Popen[Any]) -> None:
    """TERM the process group, then KILL it, without blocking the event loop."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        for _ in range(int(_STOP_WAIT / _POLL)):
            if proc.poll() is not None:
                break
            await asyncio.sleep(_POLL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group
