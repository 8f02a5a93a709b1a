"""A JSONL transcript of a coordination run: one line per event, secrets redacted.

Every chat message, tool call, answer, vote, restart, failure and the presentation is written
as it happens (flushed per line, so a run that is stopped still leaves what happened). Secret
values (API keys, MCP servers' env and header values) are replaced by ``[redacted]`` wherever
they appear, since a model or a tool may echo them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from runtime.coordination._model import CoordinationEvent
from runtime.errors import AgentError

REDACTED = "[redacted]"


class Transcript:
    """Writes ``DIR/run-<UTC time>-<pid>.jsonl``; use as a context manager, pass as ``on_event``."""

    def __init__(self, directory: Path, *, secrets: Iterable[str] = ()) -> None:
        import os

        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AgentError(f"cannot create the transcript folder {directory}: {exc}") from exc
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.path = directory / f"run-{stamp}-{os.getpid()}.jsonl"
        # Longest first, so a secret that contains another is redacted whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self._file: IO[str] | None = None
        self._started = time.monotonic()

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """More values to redact (known only once the run has resolved its config)."""
        merged = set(self._secrets) | {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(merged, key=len, reverse=True)

    def __enter__(self) -> Transcript:
        try:
            self._file = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise AgentError(f"cannot write the transcript {self.path}: {exc}") from exc
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __call__(self, event: CoordinationEvent) -> None:
        if self._file is None:
            return
        record: dict[str, Any] = {
            "t": round(time.monotonic() - self._started, 3),
            "agent": event.agent,
            "kind": event.kind,
        }
        if event.text:
            record["text"] = event.text
        if event.data is not None:
            record["data"] = event.data
        line = json.dumps(record, ensure_ascii=False, default=str)
        for secret in self._secrets:
            line = line.replace(json.dumps(secret)[1:-1], REDACTED)
        self._file.write(line + "\n")
        self._file.flush()
