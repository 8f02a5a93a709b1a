"""Where a server's stderr goes, and the line of it an error message quotes.

A server's stderr must not reach the MCP client or interleave with mgx's output, so it goes
to the server's own log file (or nowhere, without a log directory). When the server fails,
its last stderr line is usually the reason, so errors quote it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from runtime.tools._naming import sanitise

__all__ = ["ServerLog"]


@dataclass(frozen=True)
class ServerLog:
    log_dir: Path | None
    server: str

    @property
    def path(self) -> Path | None:
        return None if self.log_dir is None else self.log_dir / f"{sanitise(self.server)}.log"

    def open(self) -> TextIO:
        """A file for the server's stderr; the caller closes it with the process."""
        if self.path is None:
            return open(os.devnull, "w")  # noqa: SIM115
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def hint(self) -> str:
        """`` (stderr: LAST LINE)`` for an error message, or where the log is; "" without one."""
        if self.path is None:
            return ""
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        return f" (stderr: {last[:200]})" if last else f" (log: {self.path})"
