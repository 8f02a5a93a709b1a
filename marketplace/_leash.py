"""A tiny supervisor that ties one command (and everything it starts) to mgx's life (Linux).

``marketplace._process`` runs it by path, as ``python -I -S _leash.py PARENT_PID COMMAND...``
in a new session, so it leads the command's process group. It:

1. asks the kernel for ``PARENT_GONE`` when its parent (the mgx thread that spawned it) dies,
   even by SIGKILL (``prctl(PR_SET_PDEATHSIG)``); on that signal it SIGKILLs its whole process
   group: the command, the command's children (uv's, npm's, docker's), and itself;
2. forks the command with ``PR_SET_PDEATHSIG = SIGKILL`` on it as well, so the command dies
   even if the supervisor alone is killed;
3. waits and exits as the command did (same exit code, or the same signal).

It gives its own copies of stdin and stdout up (to /dev/null) so that the command alone
holds those pipes: EOF semantics are the command's. It ignores SIGTERM/SIGINT/SIGHUP sent to
it: mgx always signals the whole group, so the command gets them directly and decides.

Standard library only, and no import from mgx: it starts in a few milliseconds.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from types import FrameType

PR_SET_PDEATHSIG = 1
PARENT_GONE = signal.SIGUSR2  # nothing else sends it to the supervisor


def _set_parent_death_signal(sig: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")


def _kill_group(signum: int = 0, frame: FrameType | None = None) -> None:
    os.killpg(0, signal.SIGKILL)  # the group is ours alone (a new session): ends us too


def _ignore(signum: int, frame: FrameType | None) -> None:
    """A caught (not ignored) signal: exec resets it to the default in the command."""


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        os.write(2, b"usage: _leash.py PARENT_PID COMMAND [ARG...]\n")
        return 2
    parent, command = int(argv[1]), argv[2:]
    signal.signal(PARENT_GONE, _kill_group)
    _set_parent_death_signal(PARENT_GONE)
    if os.getppid() != parent:  # the parent died before the request was in place
        _kill_group()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _ignore)
    me = os.getpid()
    child = os.fork()
    if child == 0:
        try:
            signal.signal(PARENT_GONE, signal.SIG_DFL)
            _set_parent_death_signal(signal.SIGKILL)
            if os.getppid() != me:
                os._exit(137)
            os.execvp(command[0], command)
        except OSError as exc:
            os.write(2, f"mgx: cannot run {command[0]}: {exc.strerror}\n".encode())
        os._exit(127)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        died_of = os.WTERMSIG(status)
        signal.signal(died_of, signal.SIG_DFL)
        os.kill(me, died_of)  # die the way the command died, so the caller sees the same status
    return os.waitstatus_to_exitcode(status) & 0xFF


if __name__ == "__main__":
    sys.exit(main(sys.argv))
