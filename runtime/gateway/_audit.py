"""The gateway's audit log: one JSON line per tool call, secrets never written.

Each line: ``time`` (UTC, ISO 8601), ``client`` (the MCP client's name/version and, over
HTTP, its address), ``tool`` (the exposed name), ``server``, ``duration_ms``, ``ok`` and,
for a failed call, ``error`` (its first line). Arguments are written only when the gateway
was started with ``--log-args``, and then with every secret redacted: the values of the env
vars and headers bound to the locked tools, the gateway's own bearer token, and any argument
whose key looks like a credential (``token``, ``password``, ``api_key``, ...).
The file is opened in append mode with 0600 permissions; each line is one ``write`` so
concurrent calls never interleave within a line.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["REDACTED", "AuditLog", "Redactor"]

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|auth(orization)?|credential|"
    r"private[_-]?key|session[_-]?key|cookie)",
    re.IGNORECASE,
)
_MIN_SECRET = 4  # shorter values would redact ordinary words; such "secrets" are no secret


class Redactor:
    """Replaces known secret values (and values under credential-like keys) with a marker."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def add(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted(
            {*self._secrets, *(s for s in secrets if len(s) >= _MIN_SECRET)}, key=len, reverse=True
        )

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        return value

    def value(self, value: Any, key: str = "") -> Any:
        if key and _SECRET_KEY.search(key) and value not in (None, "", [], {}):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {str(k): self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


class AuditLog:
    """Append-only JSONL; ``path=None`` keeps nothing (the gateway was asked for no log)."""

    def __init__(self, path: Path | None, *, log_args: bool, redactor: Redactor) -> None:
        self.path = path
        self.log_args = log_args
        self.redactor = redactor
        self._fd: int | None = None
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def record(
        self,
        *,
        client: str,
        tool: str,
        server: str,
        started: float,
        ok: bool,
        error: str | None = None,
        arguments: Any = None,
    ) -> None:
        """Write one call (``started`` is a ``time.perf_counter()`` reading)."""
        if self._fd is None:
            return
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            + f".{int(time.time() * 1000) % 1000:03d}Z",
            "client": self.redactor.text(client),
            "tool": tool,
            "server": server,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "ok": ok,
        }
        if error is not None:
            first = error.strip().splitlines()[0] if error.strip() else "error"
            entry["error"] = self.redactor.text(first[:500])
        if self.log_args:
            entry["arguments"] = self.redactor.value(arguments or {})
        line = (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode()
        with self._lock:
            os.write(self._fd, line)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
