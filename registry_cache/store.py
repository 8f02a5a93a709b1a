"""The registry cache: one SQLite file (WAL) holding every server version mgx knows about.

Layout (one row per ``(registry, name, version)``)::

    versions     raw server.json + response ``_meta`` and the columns searches filter on
                 (status, timestamps, package types, transports, identifiers, a semver sort key,
                 ``is_latest`` as computed here, ``gen`` = the full sync that last saw the row)
    search       FTS5 over the *display row* of each server (its latest visible version):
                 name, title, description, package identifiers; ranked with bm25, name first
    sync_state   per registry: where its data came from, the ``updated_since`` watermark,
                 the last successful and the last failed sync
    meta         schema version, snapshot import marker

Every write is one ``BEGIN IMMEDIATE`` transaction (a page of a sync, a snapshot import), so a
reader in another process (WAL) never sees half a page. The cache is derived data: a file
written by an incompatible schema is dropped and rebuilt rather than migrated.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry_cache.errors import CacheError

if TYPE_CHECKING:
    from registry_cache.serverjson import ServerVersion

# Same strings as registry_cache.serverjson; not imported from there so that a search, which
# never builds a ServerVersion, does not pay for loading the models.
OFFICIAL_META = "io.modelcontextprotocol.registry/official"
CURATED_META = "dev.mgx/curated"

SCHEMA_VERSION = "2"
SNAPSHOT_KEY = "snapshot_imported"  # meta key: when the bundled snapshot was imported
PACKAGE_FILTERS = ("pypi", "npm", "oci", "mcpb", "nuget", "cargo", "remote")
TRANSPORT_FILTERS = ("stdio", "streamable-http", "sse")
_CHUNK = 500  # bound on SQL parameters per statement

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY,
    registry TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    server_json TEXT NOT NULL,
    meta_json TEXT NOT NULL,
    title TEXT,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    status_message TEXT,
    published_at TEXT,
    updated_at TEXT,
    updated_key TEXT NOT NULL,
    registry_latest INTEGER NOT NULL,
    is_latest INTEGER NOT NULL DEFAULT 0,
    curated INTEGER NOT NULL,
    types TEXT NOT NULL,
    transports TEXT NOT NULL,
    identifiers TEXT NOT NULL,
    semver_key TEXT,
    gen INTEGER NOT NULL DEFAULT 0,
    UNIQUE (registry, name, version)
);
CREATE INDEX IF NOT EXISTS versions_updated ON versions (registry, updated_key);
CREATE INDEX IF NOT EXISTS versions_latest ON versions (registry, is_latest, name);
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(
    name, title, description, identifiers, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS sync_state (
    registry TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    watermark TEXT,
    data_as_of TEXT,
    last_success TEXT,
    last_failure TEXT,
    last_error TEXT,
    resume_cursor TEXT,
    resume_gen INTEGER,
    partial_watermark TEXT
);
"""

# bm25 weights per FTS column: a match in the name counts most, then title, identifiers.
_BM25 = "bm25(search, 10.0, 6.0, 1.0, 4.0)"


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SearchHit:
    """One server found by a search (its latest visible version in one registry)."""

    name: str
    version: str
    registry: str
    title: str | None
    description: str
    package_types: tuple[str, ...]
    transports: tuple[str, ...]
    status: str
    curated: bool
    score: float

    @property
    def deprecated(self) -> bool:
        return self.status == "deprecated"


@dataclass(frozen=True, kw_only=True)
class SyncState:
    """What the cache knows about one registry's data."""

    registry: str
    # "snapshot" (bundled data), "live" (synced), "stale" (synced from a URL no longer
    # configured) or "none" (no data, only a failed attempt)
    source: str
    watermark: str | None = None  # newest updatedAt seen; next sync asks updated_since this
    data_as_of: str | None = None  # when the data was current (snapshot build / last sync)
    last_success: str | None = None  # last successful live sync
    last_failure: str | None = None  # last failed live sync attempt
    last_error: str | None = None
    # An unfinished full sync: the cursor of its next page, its generation and the newest
    # updatedAt it has seen, so that the next attempt continues instead of starting over.
    resume_cursor: str | None = None
    resume_gen: int | None = None
    partial_watermark: str | None = None


@dataclass(frozen=True, kw_only=True)
class ListedServer:
    """A row as the ``/v0.1`` API serves it: raw server.json text plus its ``_meta``."""

    name: str
    version: str
    server_json: str
    meta: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class ListPage:
    servers: tuple[ListedServer, ...]
    next_cursor: str | None


# --- helpers ----------------------------------------------------------------------------------

_SEMVER = re.compile(
    r"^v?(\d{1,12})(?:\.(\d{1,12}))?(?:\.(\d{1,12}))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
_FRACTION = re.compile(r"(\.\d{6})\d+")


def semver_key(version: str) -> str | None:
    """A string that sorts like semantic versions (None when ``version`` is not one).

    Release > pre-release of the same numbers; numeric pre-release fields compare numerically
    and sort before alphanumeric ones, as semver says.
    """
    m = _SEMVER.match(version)
    if not m:
        return None
    major, minor, patch, pre = m.groups()
    key = f"{int(major):012d}.{int(minor or 0):012d}.{int(patch or 0):012d}"
    if not pre:
        return key + "~1"
    fields = (f"0{int(p):012d}" if p.isdigit() else f"1{p}" for p in pre.split("."))
    return key + "~0" + ".".join(fields)


def normalize_time(value: str | None) -> str | None:
    """RFC 3339 text -> UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (sorts as text); None if unreadable."""
    if not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip())  # Go writes nanoseconds; Python reads micro
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _spaced(values: Iterable[str]) -> str:
    # " npm oci " so that a filter is instr(types, ' npm ') with no false prefix matches
    return " " + " ".join(values) + " " if values else " "


def encode_cursor(name: str, version: str) -> str:
    raw = json.dumps([name, version], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """Inverse of :func:`encode_cursor`; raises CacheError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, version = json.loads(raw)
        if not isinstance(name, str) or not isinstance(version, str):
            raise ValueError
    except (ValueError, TypeError) as exc:
        raise CacheError(f"invalid cursor {cursor!r}: use the metadata.nextCursor value") from exc
    return name, version


def fts_query(text: str) -> str | None:
    """Turn what a user typed into an FTS5 expression (None when nothing searchable is left).

    Each whitespace-separated term becomes a phrase of its word parts (``mcp-server-time`` ->
    ``"mcp server time"``) matched as a prefix, so partial words still find servers. Quoting
    every part keeps FTS5 syntax characters in user input from being interpreted.
    """
    terms = []
    for term in text.split():
        words = re.findall(r"\w+", term)
        if words:
            terms.append('"' + " ".join(words) + '"*')
    return " AND ".join(terms) if terms else None


def _search_name(name: str) -> str:
    """The text indexed for a name: the server part first, then its namespace.

    ``io.github.`` is dropped from the namespace: nearly every name has it, so it would only
    make a search for "github" match everything.
    """
    namespace, _, tail = name.partition("/")
    namespace = namespace.removeprefix("io.github.")
    return f"{tail} {namespace}"


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- the store --------------------------------------------------------------------------------


class Cache:
    """The SQLite registry cache at ``path`` (created on first use).

    Safe to share between threads: each thread gets its own connection. Use as a context
    manager, or call :meth:`close`.
    """

    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._conn()  # open now so a broken file fails here, not mid-command

    # --- connections ---------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                if not self.path.exists():
                    raise CacheError(f"registry cache {self.path} does not exist")
                conn = sqlite3.connect(
                    f"file:{self.path}?mode=ro",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                )
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            if not self.readonly:
                self._prepare(conn)
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"registry cache {self.path} is unusable: {exc}") from exc
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        if _schema_version(conn) == SCHEMA_VERSION:
            return
        with self._write(conn):
            version = _schema_version(conn)  # again, under the lock: another process may have won
            if version == SCHEMA_VERSION:
                return
            if version is not None:
                # Written by another mgx version: the cache is derived data, start over.
                for table in ("versions", "search", "sync_state", "meta"):
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
            )

    @contextmanager
    def _write(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction; taken IMMEDIATE so concurrent writers queue instead of failing."""
        conn = conn or self._conn()
        if self.readonly:
            raise CacheError("the registry cache was opened read-only")
        if conn.in_transaction:  # nested use inside our own transaction
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def release_thread(self) -> None:
        """Close the calling thread's connection (a server thread that is about to end)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        conn.close()

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- key/value meta ------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def needs_snapshot(self) -> bool:
        """True until the bundled snapshot has been imported into this cache."""
        return self.get_meta(SNAPSHOT_KEY) is None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several writes (e.g. a snapshot import and its marker) into one transaction."""
        with self._write():
            yield

    # --- writes --------------------------------------------------------------------------

    def upsert(self, registry: str, servers: Iterable[ServerVersion], *, gen: int = 0) -> int:
        """Insert or replace server versions of ``registry`` in one transaction; returns count.

        ``gen`` tags the rows with the full sync that saw them (see :meth:`prune`).
        """
        now = utc_now()
        rows = []
        for sv in servers:
            meta = sv.meta
            updated_key = normalize_time(meta.updated_at) or normalize_time(meta.published_at)
            identifiers = [p.identifier for p in sv.packages] + [r.url or "" for r in sv.remotes]
            rows.append(
                (
                    registry,
                    sv.name,
                    sv.version,
                    json.dumps(sv.raw, separators=(",", ":"), ensure_ascii=False),
                    json.dumps(
                        sv.raw_meta or _meta_doc(sv), separators=(",", ":"), ensure_ascii=False
                    ),
                    sv.title,
                    sv.description,
                    meta.status,
                    meta.status_message,
                    meta.published_at,
                    meta.updated_at,
                    updated_key or now,
                    int(meta.is_latest),
                    int(meta.curated),
                    _spaced(sv.package_types),
                    _spaced(sv.transports),
                    " ".join(identifiers),
                    semver_key(sv.version),
                    gen,
                )
            )
        if not rows:
            return 0
        with self._write() as conn:
            conn.executemany(
                """INSERT INTO versions (registry, name, version, server_json, meta_json, title,
                       description, status, status_message, published_at, updated_at,
                       updated_key, registry_latest, curated, types, transports, identifiers,
                       semver_key, gen)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (registry, name, version) DO UPDATE SET
                       server_json = excluded.server_json, meta_json = excluded.meta_json,
                       title = excluded.title, description = excluded.description,
                       status = excluded.status, status_message = excluded.status_message,
                       published_at = excluded.published_at, updated_at = excluded.updated_at,
                       updated_key = excluded.updated_key,
                       registry_latest = excluded.registry_latest, curated = excluded.curated,
                       types = excluded.types, transports = excluded.transports,
                       identifiers = excluded.identifiers, semver_key = excluded.semver_key,
                       gen = excluded.gen""",
                rows,
            )
            self._refresh_latest(conn, registry, list(dict.fromkeys(r[1] for r in rows)))
        return len(rows)

    def _refresh_latest(self, conn: sqlite3.Connection, registry: str, names: list[str]) -> None:
        """Recompute each server's display row (``is_latest``) and its search entry.

        The latest is the registry's ``isLatest`` version unless it is deleted; otherwise the
        highest semantic version (then newest publish time) that is not deleted. A server
        whose versions are all deleted keeps its newest one, hidden by the status filter.
        """
        for chunk in _chunks(names):
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"""SELECT id, name, status, registry_latest, semver_key, published_at
                    FROM versions WHERE registry = ? AND name IN ({marks})""",
                (registry, *chunk),
            ).fetchall()
            best: dict[str, tuple[Any, ...]] = {}
            for row in rows:
                rank = (row[2] != "deleted", row[3], row[4] or "", row[5] or "")
                current = best.get(row[1])
                if current is None or rank > current[0]:
                    best[row[1]] = (rank, row[0])
            ids = [r[0] for r in rows]
            latest = [b[1] for b in best.values()]
            for id_chunk in _chunks(ids):
                id_marks = ",".join("?" * len(id_chunk))
                conn.execute(f"DELETE FROM search WHERE rowid IN ({id_marks})", id_chunk)
            conn.execute(
                f"UPDATE versions SET is_latest = 0 WHERE registry = ? AND name IN ({marks})",
                (registry, *chunk),
            )
            for id_chunk in _chunks(latest):
                id_marks = ",".join("?" * len(id_chunk))
                conn.execute(
                    f"UPDATE versions SET is_latest = 1 WHERE id IN ({id_marks})", id_chunk
                )
                found = conn.execute(
                    f"""SELECT id, name, coalesce(title, ''), description, identifiers
                        FROM versions WHERE id IN ({id_marks})""",
                    id_chunk,
                ).fetchall()
                conn.executemany(
                    """INSERT INTO search (rowid, name, title, description, identifiers)
                       VALUES (?, ?, ?, ?, ?)""",
                    [(r[0], _search_name(r[1]), r[2], r[3], r[4]) for r in found],
                )

    def prune(self, registry: str, *, keep_gen: int) -> int:
        """After a complete full sync: drop rows of ``registry`` that sync did not see.

        This is how live data replaces the bundled snapshot. Curated rows survive unless the
        live registry has a server of the same name (the live registry then wins).
        """
        with self._write() as conn:
            gone = conn.execute(
                """SELECT id, name FROM versions
                   WHERE registry = ? AND gen != ? AND (curated = 0 OR name IN
                       (SELECT name FROM versions WHERE registry = ? AND gen = ?))""",
                (registry, keep_gen, registry, keep_gen),
            ).fetchall()
            ids = [r[0] for r in gone]
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM search WHERE rowid IN ({marks})", chunk)
                conn.execute(f"DELETE FROM versions WHERE id IN ({marks})", chunk)
            self._refresh_latest(conn, registry, list(dict.fromkeys(r[1] for r in gone)))
        return len(ids)

    def drop_registry(self, registry: str) -> int:
        """Forget every row and the sync state of ``registry``."""
        with self._write() as conn:
            conn.execute(
                "DELETE FROM search WHERE rowid IN (SELECT id FROM versions WHERE registry = ?)",
                (registry,),
            )
            count = conn.execute("DELETE FROM versions WHERE registry = ?", (registry,)).rowcount
            conn.execute("DELETE FROM sync_state WHERE registry = ?", (registry,))
        return count

    def next_gen(self) -> int:
        row = self._conn().execute("SELECT coalesce(max(gen), 0) + 1 FROM versions").fetchone()
        return int(row[0])

    # --- sync state ----------------------------------------------------------------------

    _STATE_COLUMNS = (
        "registry, source, watermark, data_as_of, last_success, last_failure, last_error, "
        "resume_cursor, resume_gen, partial_watermark"
    )

    def sync_state(self, registry: str) -> SyncState | None:
        row = (
            self._conn()
            .execute(
                f"SELECT {self._STATE_COLUMNS} FROM sync_state WHERE registry = ?", (registry,)
            )
            .fetchone()
        )
        if row is None:
            return None
        return SyncState(
            registry=row[0],
            source=row[1],
            watermark=row[2],
            data_as_of=row[3],
            last_success=row[4],
            last_failure=row[5],
            last_error=row[6],
            resume_cursor=row[7],
            resume_gen=row[8],
            partial_watermark=row[9],
        )

    def set_sync_state(self, state: SyncState) -> None:
        with self._write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO sync_state ({self._STATE_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    state.registry,
                    state.source,
                    state.watermark,
                    state.data_as_of,
                    state.last_success,
                    state.last_failure,
                    state.last_error,
                    state.resume_cursor,
                    state.resume_gen,
                    state.partial_watermark,
                ),
            )

    def _update_state(self, registry: str, **changes: Any) -> None:
        with self._write():
            old = self.sync_state(registry) or SyncState(registry=registry, source="none")
            self.set_sync_state(replace(old, **changes))

    def record_success(
        self, registry: str, *, watermark: str | None, at: str | None = None
    ) -> None:
        """A live sync of ``registry`` finished: its data is now live and current as of ``at``."""
        at = at or utc_now()
        with self._write():
            old = self.sync_state(registry)
            self._update_state(
                registry,
                source="live",
                watermark=watermark or (old.watermark if old else None),
                data_as_of=at,
                last_success=at,
                resume_cursor=None,
                resume_gen=None,
                partial_watermark=None,
            )

    def save_progress(
        self, registry: str, *, cursor: str | None, gen: int, watermark: str | None
    ) -> None:
        """Where an unfinished full sync stands, so the next attempt continues from there."""
        self._update_state(
            registry, resume_cursor=cursor, resume_gen=gen, partial_watermark=watermark
        )

    def restart_sync(self, registry: str) -> None:
        """Make the next sync of ``registry`` a full one from the start (its URL changed)."""
        with self._write():
            old = self.sync_state(registry)
            if old is not None:
                self._update_state(
                    registry,
                    source="stale" if old.source == "live" else old.source,
                    watermark=None,
                    last_success=None,
                    resume_cursor=None,
                    resume_gen=None,
                    partial_watermark=None,
                )

    def record_failure(self, registry: str, message: str, *, at: str | None = None) -> None:
        """A live sync of ``registry`` failed; remembered so that callers can back off."""
        self._update_state(
            registry,
            last_failure=at or utc_now(),
            last_error=message.splitlines()[0] if message else None,
        )

    # --- reads ---------------------------------------------------------------------------

    def registries(self) -> list[str]:
        rows = self._conn().execute("SELECT DISTINCT registry FROM versions ORDER BY 1")
        return [r[0] for r in rows]

    def count(self, registry: str | None = None, *, servers: bool = False) -> int:
        """Number of versions (or of distinct servers) in the cache, deleted ones included."""
        what = "count(DISTINCT name)" if servers else "count(*)"
        if registry is None:
            row = self._conn().execute(f"SELECT {what} FROM versions").fetchone()
        else:
            row = (
                self._conn()
                .execute(f"SELECT {what} FROM versions WHERE registry = ?", (registry,))
                .fetchone()
            )
        return int(row[0])

    def search(
        self,
        query: str,
        *,
        types: Sequence[str] = (),
        transport: str | None = None,
        registries: Sequence[str] | None = None,
        limit: int = 20,
        include_deleted: bool = False,
    ) -> list[SearchHit]:
        """Ranked full-text search over each server's latest version.

        ``types`` keeps servers with at least one of those package types (``remote`` = has
        remotes); ``transport`` keeps servers offering it; ``registries`` limits the sources.
        Deleted servers are hidden unless ``include_deleted``. An empty query lists servers
        (curated first, then by name).
        """
        for t in types:
            if t not in PACKAGE_FILTERS:
                raise CacheError(
                    f"unknown package type {t!r}: use one of {', '.join(PACKAGE_FILTERS)}"
                )
        if transport is not None and transport not in TRANSPORT_FILTERS:
            raise CacheError(
                f"unknown transport {transport!r}: use one of {', '.join(TRANSPORT_FILTERS)}"
            )
        if limit < 1:
            raise CacheError("limit must be at least 1")
        where: list[str] = []
        params: list[str] = []
        if not include_deleted:
            where.append("v.status != 'deleted'")
        if types:
            where.append("(" + " OR ".join("instr(v.types, ?) > 0" for _ in types) + ")")
            params.extend(f" {t} " for t in types)
        if transport:
            where.append("instr(v.transports, ?) > 0")
            params.append(f" {transport} ")
        if registries is not None:
            if not registries:
                return []
            where.append(f"v.registry IN ({','.join('?' * len(registries))})")
            params.extend(registries)
        columns = """v.name, v.version, v.registry, v.title, v.description, v.types,
                     v.transports, v.status, v.curated, v.identifiers"""
        expression = fts_query(query)
        conn = self._conn()
        if expression is None:
            sql = f"""SELECT {columns}, 0.0 FROM versions v
                      WHERE v.is_latest = 1 {"".join(" AND " + w for w in where)}
                      ORDER BY v.curated DESC, v.name LIMIT ?"""
            rows = conn.execute(sql, (*params, limit)).fetchall()
            return [_hit(r, r[-1]) for r in rows]
        # Take a generous bm25 top-N, then re-rank with signals bm25 cannot see (an exact
        # name or package match, curation, deprecation).
        sql = f"""SELECT {columns}, {_BM25} AS rank FROM search
                  JOIN versions v ON v.id = search.rowid
                  WHERE search MATCH ? {"".join(" AND " + w for w in where)}
                  ORDER BY rank LIMIT ?"""
        window = max(limit * 4, 50)
        try:
            rows = conn.execute(sql, (expression, *params, window)).fetchall()
            if not rows and " AND " in expression:
                rows = conn.execute(
                    sql, (expression.replace(" AND ", " OR "), *params, window)
                ).fetchall()
        except sqlite3.OperationalError as exc:  # should not happen: every term is quoted
            raise CacheError(f"cannot search for {query!r}: {exc}") from exc
        needle = query.strip().lower()
        words = set(re.findall(r"\w+", needle))
        ranked = []
        for row in rows:
            score = -float(row[-1])  # bm25: lower is better; flip so higher is better
            tail = row[0].rsplit("/", 1)[-1].lower()
            idents = {i.lower().rsplit("/", 1)[-1] for i in row[9].split()} | {
                i.lower() for i in row[9].split()
            }
            if needle in (row[0].lower(), tail, (row[3] or "").lower()) or needle in idents:
                score = score * 2 + 20  # the exact thing the user typed
            elif words and words <= set(re.findall(r"\w+", tail)):
                score = score * 1.5 + 5
            if row[8]:
                score *= 1.25
            if row[7] == "deprecated":
                score *= 0.5
            ranked.append(_hit(row, score))
        ranked.sort(key=lambda h: (-h.score, h.name))
        return ranked[:limit]

    def versions(
        self, name: str, *, registry: str, include_deleted: bool = False
    ) -> list[ServerVersion]:
        """Every version of ``name`` in ``registry``, newest first (semver, then publish time)."""
        status = "" if include_deleted else "AND status != 'deleted'"
        rows = (
            self._conn()
            .execute(
                f"""SELECT server_json, meta_json, is_latest FROM versions
                WHERE registry = ? AND name = ? {status}
                ORDER BY semver_key DESC, updated_key DESC, version DESC""",
                (registry, name),
            )
            .fetchall()
        )
        return [_load(r[0], r[1], r[2]) for r in rows]

    def get(
        self, name: str, version: str = "latest", *, registry: str, include_deleted: bool = False
    ) -> ServerVersion | None:
        """One version of ``name`` (``"latest"`` = its current version), or None."""
        status = "" if include_deleted else "AND status != 'deleted'"
        if version == "latest":
            sql = f"""SELECT server_json, meta_json, is_latest FROM versions
                      WHERE registry = ? AND name = ? AND is_latest = 1 {status}"""
            row = self._conn().execute(sql, (registry, name)).fetchone()
        else:
            sql = f"""SELECT server_json, meta_json, is_latest FROM versions
                      WHERE registry = ? AND name = ? AND version = ? {status}"""
            row = self._conn().execute(sql, (registry, name, version)).fetchone()
        return _load(row[0], row[1], row[2]) if row else None

    def has_server(self, name: str, *, registry: str) -> bool:
        row = (
            self._conn()
            .execute(
                "SELECT 1 FROM versions WHERE registry = ? AND name = ? LIMIT 1", (registry, name)
            )
            .fetchone()
        )
        return row is not None

    def list_page(
        self,
        registry: str,
        *,
        cursor: str | None = None,
        limit: int = 30,
        updated_since: str | None = None,
        version: str | None = None,
        include_deleted: bool = False,
        search: str | None = None,
        name: str | None = None,
    ) -> ListPage:
        """A page of the ``/v0.1/servers`` listing, in (name, version) order.

        ``version`` is ``"latest"`` or an exact version; ``search`` is a case-insensitive
        substring of the name; ``updated_since`` (RFC 3339) keeps rows updated after it and
        includes deleted ones, as the official registry does. Raises CacheError on a bad
        cursor or timestamp.
        """
        where, params = ["registry = ?"], [registry]
        if updated_since is not None:
            since = normalize_time(updated_since)
            if since is None:
                raise CacheError(f"invalid updated_since {updated_since!r}: use RFC 3339")
            where.append("updated_key > ?")
            params.append(since)
            include_deleted = True
        if not include_deleted:
            where.append("status != 'deleted'")
        if version == "latest":
            where.append("is_latest = 1")
        elif version:
            where.append("version = ?")
            params.append(version)
        if search:
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("name LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        if name is not None:
            where.append("name = ?")
            params.append(name)
        if cursor:
            where.append("(name, version) > (?, ?)")
            params.extend(decode_cursor(cursor))
        rows = (
            self._conn()
            .execute(
                f"""SELECT name, version, server_json, meta_json, status, status_message,
                       published_at, updated_at, updated_key, is_latest FROM versions
                WHERE {" AND ".join(where)} ORDER BY name, version LIMIT ?""",
                (*params, limit + 1),
            )
            .fetchall()
        )
        more = len(rows) > limit
        rows = rows[:limit]
        servers = tuple(
            ListedServer(name=r[0], version=r[1], server_json=r[2], meta=_served_meta(r))
            for r in rows
        )
        next_cursor = encode_cursor(rows[-1][0], rows[-1][1]) if more and rows else None
        return ListPage(servers=servers, next_cursor=next_cursor)

    def served_versions(
        self, name: str, *, registry: str, include_deleted: bool = False
    ) -> list[ListedServer]:
        """Every version of ``name`` as the API serves them, newest first."""
        status = "" if include_deleted else "AND status != 'deleted'"
        rows = (
            self._conn()
            .execute(
                f"""SELECT name, version, server_json, meta_json, status, status_message,
                       published_at, updated_at, updated_key, is_latest FROM versions
                WHERE registry = ? AND name = ? {status}
                ORDER BY semver_key DESC, updated_key DESC, version DESC""",
                (registry, name),
            )
            .fetchall()
        )
        return [
            ListedServer(name=r[0], version=r[1], server_json=r[2], meta=_served_meta(r))
            for r in rows
        ]

    def served_version(
        self, name: str, version: str, *, registry: str, include_deleted: bool = False
    ) -> ListedServer | None:
        status = "" if include_deleted else "AND status != 'deleted'"
        match = "is_latest = 1" if version == "latest" else "version = ?"
        params = (registry, name) if version == "latest" else (registry, name, version)
        row = (
            self._conn()
            .execute(
                f"""SELECT name, version, server_json, meta_json, status, status_message,
                       published_at, updated_at, updated_key, is_latest FROM versions
                WHERE registry = ? AND name = ? AND {match} {status}""",
                params,
            )
            .fetchone()
        )
        if row is None:
            return None
        return ListedServer(name=row[0], version=row[1], server_json=row[2], meta=_served_meta(row))


def _schema_version(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.OperationalError:
        return None  # a new, empty file
    return row[0] if row else None


# --- row conversions --------------------------------------------------------------------------

_OFFICIAL_KEYS = ("status", "statusMessage", "statusChangedAt", "publishedAt", "updatedAt")


def _meta_doc(sv: ServerVersion) -> dict[str, Any]:
    """A response ``_meta`` for a version that arrived without one."""
    m = sv.meta
    official = {
        "status": m.status,
        "statusMessage": m.status_message,
        "publishedAt": m.published_at,
        "updatedAt": m.updated_at,
        "isLatest": m.is_latest,
    }
    doc: dict[str, Any] = {OFFICIAL_META: {k: v for k, v in official.items() if v is not None}}
    if m.curated:
        doc[CURATED_META] = True
    return doc


def _served_meta(row: Sequence[Any]) -> dict[str, Any]:
    """The ``_meta`` to serve: what the registry sent, with status and isLatest as known here.

    The official block is rebuilt from its allowed keys only (the spec closes it with
    ``additionalProperties: false``); other namespaces pass through.
    """
    meta: dict[str, Any] = json.loads(row[3]) if row[3] else {}
    found = meta.get(OFFICIAL_META)
    old: dict[str, Any] = found if isinstance(found, dict) else {}
    official: dict[str, Any] = {k: old[k] for k in _OFFICIAL_KEYS if old.get(k) is not None}
    official["status"] = row[4]
    if row[5]:
        official["statusMessage"] = row[5]
    if row[6]:
        official["publishedAt"] = row[6]
    official["updatedAt"] = row[7] or row[8]
    official["isLatest"] = bool(row[9])
    meta[OFFICIAL_META] = official
    return meta


def _load(server_json: str, meta_json: str, is_latest: int) -> ServerVersion:
    meta = json.loads(meta_json) if meta_json else {}
    official = meta.get(OFFICIAL_META)
    if isinstance(official, dict):
        # isLatest as computed here (the display row), which is what callers act on.
        meta = {**meta, OFFICIAL_META: {**official, "isLatest": bool(is_latest)}}
    from registry_cache.serverjson import parse_server

    # Stored rows passed validation when written; the description limit is the one rule a
    # converted legacy mirror may not meet, so it is not re-checked on the way out.
    return parse_server(json.loads(server_json), meta, max_description=None)


def _hit(row: Sequence[Any], score: float) -> SearchHit:
    return SearchHit(
        name=row[0],
        version=row[1],
        registry=row[2],
        title=row[3],
        description=row[4],
        package_types=tuple(row[5].split()),
        transports=tuple(row[6].split()),
        status=row[7],
        curated=bool(row[8]),
        score=round(score, 4),
    )
