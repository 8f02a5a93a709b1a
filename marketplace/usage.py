"""Local tool-usage tracking: one SQLite file in mgx's state directory, nothing leaves it.

Every tool call through the runtime's ``ToolHub`` (``mgx agent``, and any future front such
as the gateway) is *recorded* into an in-memory buffer by :meth:`UsageRecorder.record` (a
tuple append: well under the 0.2 ms budget on the caller's path) and *flushed* in one
transaction when the hub closes. What is stored per call: when, which server and tool,
whether it failed, how long it took, and a random id of the session (one hub) so that
servers used together can be counted. Never arguments, results or anything from the model.

Off with ``MGX_NO_USAGE=1`` or ``[usage] enabled = false`` in mgx's config file; then nothing
is recorded and no file is created. Several processes may flush at once: the database is in
WAL mode and each flush is one ``BEGIN IMMEDIATE`` transaction that waits for the others.

The runtime imports this module (runtime may import the marketplace, never the reverse), and
``mgx tool recommend`` reads it for co-usage.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from marketplace.errors import ConfigError, MarketplaceError
from marketplace.settings import Settings

__all__ = [
    "NO_USAGE_ENV",
    "UsageRecorder",
    "UsageRow",
    "UsageStore",
    "parse_since",
    "usage_enabled",
]

log = logging.getLogger(__name__)

NO_USAGE_ENV = "MGX_NO_USAGE"
BUSY_TIMEOUT_MS = 10_000
FLUSH_AT = 50_000  # calls buffered before a background write (a very long session)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,            -- unix time the call ended
    session TEXT NOT NULL,       -- random id of one hub (servers used together)
    server TEXT NOT NULL,
    tool TEXT NOT NULL,
    error INTEGER NOT NULL,      -- 1 when the call failed (tool error, timeout, crash)
    ms REAL NOT NULL             -- duration in milliseconds
);
CREATE INDEX IF NOT EXISTS calls_at ON calls (at);
CREATE INDEX IF NOT EXISTS calls_server ON calls (server, tool);
"""


def usage_enabled(settings: Settings, env: Mapping[str, str] | None = None) -> bool:
    """False when ``MGX_NO_USAGE`` is set true or the config says ``[usage] enabled = false``."""
    env = os.environ if env is None else env
    if env.get(NO_USAGE_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    path = settings.config_file
    if not path.exists():
        return True
    import tomllib

    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("usage", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True  # the registries' reader reports a broken config; never fail a tool call
    enabled = table.get("enabled", True) if isinstance(table, Mapping) else True
    return enabled is not False


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``7d``, ``12h``, ``30m``, ``2w`` (ago) or an ISO date/time; ``ConfigError`` otherwise."""
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text)
    if match:
        n, unit = int(match.group(1)), match.group(2)
        sizes = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
        return now - timedelta(seconds=n * sizes[unit])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--since: {text!r} is neither a duration (30m, 12h, 7d, 2w) nor a date (2026-11-01)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class UsageRow:
    """Usage of one tool of one server."""

    server: str
    tool: str
    calls: int
    errors: int
    p50_ms: float
    p95_ms: float
    last_used: str  # ISO 8601, UTC


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (no interpolation: an observed value)."""
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100)
    return round(ordered[int(rank) - 1], 3)


class UsageStore:
    """The usage database (created on first write). Readers never create it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_settings(cls, settings: Settings) -> UsageStore:
        return cls(settings.state_dir / "usage.sqlite3")

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _prepare(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def add(self, rows: Iterable[tuple[float, str, str, str, int, float]]) -> int:
        """Append ``(at, session, server, tool, error, ms)`` rows in one transaction."""
        batch = list(rows)
        if not batch:
            return 0
        try:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")  # writers queue here (busy_timeout), not fail
                conn.executemany(
                    "INSERT INTO calls (at, session, server, tool, error, ms) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    batch,
                )
                conn.execute("COMMIT")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise MarketplaceError(f"cannot record tool usage in {self.path}: {exc}") from exc
        return len(batch)

    def _rows(self, sql: str, params: Sequence[object]) -> list[Any]:
        if not self.path.exists():
            return []
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise MarketplaceError(f"cannot read tool usage from {self.path}: {exc}") from exc

    def summary(self, *, since: datetime | None = None) -> list[UsageRow]:
        """Per server and tool: calls, errors, p50/p95 latency, last use; most used first."""
        after = since.timestamp() if since else 0.0
        grouped: dict[tuple[str, str], list[tuple[float, int, float]]] = {}
        for server, tool, at, error, ms in self._rows(
            "SELECT server, tool, at, error, ms FROM calls WHERE at >= ? ORDER BY at", (after,)
        ):
            grouped.setdefault((str(server), str(tool)), []).append(
                (float(at), int(error), float(ms))
            )
        out = []
        for (server, tool), calls in grouped.items():
            durations = sorted(ms for _, _, ms in calls)
            out.append(
                UsageRow(
                    server=server,
                    tool=tool,
                    calls=len(calls),
                    errors=sum(error for _, error, _ in calls),
                    p50_ms=_percentile(durations, 50),
                    p95_ms=_percentile(durations, 95),
                    last_used=datetime.fromtimestamp(calls[-1][0], UTC).isoformat(
                        timespec="seconds"
                    ),
                )
            )
        out.sort(key=lambda r: (-r.calls, r.server, r.tool))
        return out

    def sessions(self, *, since: datetime | None = None) -> dict[str, set[str]]:
        """The servers each session used (for co-usage), keyed by session id."""
        after = since.timestamp() if since else 0.0
        out: dict[str, set[str]] = {}
        for session, server in self._rows(
            "SELECT DISTINCT session, server FROM calls WHERE at >= ?", (after,)
        ):
            out.setdefault(str(session), set()).add(str(server))
        return out


def _prepare(conn: sqlite3.Connection) -> None:
    """WAL mode and the schema, retried while another process holds the file.

    Switching to WAL (and recovering a WAL another process left) takes locks for which SQLite
    does not always call the busy handler: with several writers starting at once, one can get
    "database is locked" at once. Waiting for it here is what the busy timeout promises.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")  # persistent: once per database
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)  # bounded back-off, as SQLite's own busy handler does
            pause = min(pause * 2, 0.1)


class UsageRecorder:
    """Buffers calls of one session and writes them on :meth:`flush` (the hub's close).

    A disabled recorder (usage off) records nothing and never touches the disk.
    """

    def __init__(self, store: UsageStore | None) -> None:
        self.store = store
        self.session = secrets.token_hex(8)
        self._buffer: list[tuple[float, str, str, str, int, float]] = []
        self._writers: list[threading.Thread] = []

    @classmethod
    def from_env(cls, settings: Settings | None = None) -> UsageRecorder:
        """The recorder for this process: enabled unless usage tracking is switched off."""
        settings = settings or Settings.from_env()
        return cls(UsageStore.for_settings(settings) if usage_enabled(settings) else None)

    @property
    def enabled(self) -> bool:
        return self.store is not None

    def record(self, server: str, tool: str, *, error: bool, seconds: float) -> None:
        """Note one call (cheap: an append; the write happens in :meth:`flush`)."""
        if self.store is None:
            return
        self._buffer.append((time.time(), self.session, server, tool, int(error), seconds * 1e3))
        if len(self._buffer) >= FLUSH_AT:
            # A very long session: write this batch on a thread, never on the caller's path.
            batch, self._buffer = self._buffer, []
            writer = threading.Thread(target=self._write, args=(batch,), name="mgx-usage")
            writer.start()
            self._writers.append(writer)

    def flush(self) -> int:
        """Write the buffered calls; returns how many. A failure drops them, never raises:
        usage is a convenience and must not fail the tool call or the agent that made it."""
        batch, self._buffer = self._buffer, []
        for writer in self._writers:
            writer.join()
        self._writers.clear()
        return self._write(batch)

    def _write(self, batch: list[tuple[float, str, str, str, int, float]]) -> int:
        if self.store is None or not batch:
            return 0
        try:
            return self.store.add(batch)
        except MarketplaceError as exc:
            log.warning("%s (%d calls not recorded)", exc, len(batch))
            return 0
