"""Every child process mgx starts to work on its behalf goes through this module.

Children (uv, npm, pip, docker, MCP tool servers, probes) must not outlive mgx, even when mgx
is killed with SIGKILL. On Linux each one runs under a tiny supervisor (``_leash.py``) in a
process group of its own: the kernel signals the supervisor when mgx dies
(``PR_SET_PDEATHSIG``), and it kills the whole group. Elsewhere the command runs directly in
its own process group (mgx still stops the group on every way out it sees).

* :func:`leash` wraps an argv (for spawners mgx does not own, e.g. the mcp SDK's stdio client,
  which already starts its server in a new session and stops that group);
* :func:`spawn` / :func:`run` start a leashed child in its own group; :func:`run` kills the
  group on a timeout or any exception (KeyboardInterrupt included);
* :func:`listening_process` runs a local server that speaks HTTP until its port accepts
  connections (shared by ``mgx tool check`` and the runtime's tool hub).

Caveat: the parent-death signal follows the *thread* that spawned the child. Spawn from a
thread that outlives the child (the event loop's, or one that waits for it, as :func:`run`).

Not leashed by design: the vLLM server of ``mgx model serve``, which is detached so that it
keeps serving after the command returns (``mgx model stop`` ends it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

# A server gets these from mgx's environment and nothing else besides its own bindings: a
# tool must not see the user's unrelated secrets. DOTNET_ROOT: a .NET tool's launcher finds
# the runtime through it when .NET is not installed in its default place.
PASSED_ENV = ("PATH", "HOME", "LANG", "TMPDIR", "USER", "DOTNET_ROOT")


def inherited_env() -> dict[str, str]:
    """The variables of mgx's environment that every server it starts gets (``PASSED_ENV``).

    Servers over stdio also get the mcp SDK's default set (HOME, LOGNAME, PATH, SHELL, TERM,
    USER); this is added to it, so that a server sees the same variables however it runs.
    """
    return {k: v for k, v in os.environ.items() if k in PASSED_ENV}


_POLL = 0.1
_STOP_WAIT = 5.0
_LEASH = Path(__file__).with_name("_leash.py")
LEASHED = sys.platform.startswith("linux")  # PR_SET_PDEATHSIG is Linux's


def _resolve(
    program: str, env: Mapping[str, str] | None, cwd: str | os.PathLike[str] | None
) -> str:
    """``program`` as the command would find it, or FileNotFoundError (as subprocess raises)."""
    if os.sep in program:
        path = os.path.join(cwd, program) if cwd is not None else program
        if not os.path.exists(path):
            raise FileNotFoundError(2, "No such file or directory", program)
        return program
    search = (env if env is not None else os.environ).get("PATH", os.defpath)
    found = shutil.which(program, path=search)
    if found is None:
        raise FileNotFoundError(2, "No such file or directory", program)
    return found


def leash(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> list[str]:
    """``argv`` run under the supervisor that kills its process group when mgx dies.

    The program is looked up first (on ``env``'s PATH), so a missing one raises
    FileNotFoundError here as it would from subprocess. The caller must start the result in
    a new session (``start_new_session=True``) and signal its group, not its pid.
    """
    if not argv:
        raise ValueError("empty command")
    program = _resolve(argv[0], env, cwd)
    if not LEASHED:
        return [program, *argv[1:]]
    # -I -S: no site-packages, no PYTHON* variables: a bare, fast interpreter.
    return [sys.executable, "-I", "-S", str(_LEASH), str(os.getpid()), program, *argv[1:]]


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    **popen: Any,
) -> subprocess.Popen[Any]:
    """Start a leashed ``argv`` in a process group of its own (stop it with :func:`kill_group`)."""
    return subprocess.Popen(
        leash(argv, env=env, cwd=cwd),
        env=None if env is None else dict(env),
        cwd=cwd,
        start_new_session=True,
        **popen,
    )


def kill_group(proc: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    """Signal the whole group of a child started by :func:`spawn` (its pid is the group id)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    input: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a leashed ``argv`` to completion, capturing text stdout and stderr.

    On a timeout (``subprocess.TimeoutExpired``) or any exception, KeyboardInterrupt
    included, the whole group is killed and reaped before the exception propagates.
    """
    proc = spawn(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with proc:
        try:
            stdout, stderr = proc.communicate(input, timeout=timeout)
        except BaseException:
            kill_group(proc)
            proc.wait()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


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
    full_env = inherited_env() | dict(env)
    # Its own process group: stopping it stops its children too.
    proc = spawn(
        command, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, stdout=errlog, stderr=errlog
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
