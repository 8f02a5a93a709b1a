"""The bundled registry snapshot: what search and info answer on a fresh machine, offline.

``data/snapshot.json.gz`` is built by ``python -m registry_cache.snapshot build`` from:

* ``seed.json`` — the official MCP Registry's current seed (schema 2025-12-11), and
* ``seed_2025_05_16_legacy.json`` — its first seed (471 servers, snake_case), converted with
  :func:`registry_cache.serverjson.from_legacy`; entries that still fail the schema are skipped
  and counted, and descriptions longer than today's 100-character limit are shortened,
  both from github.com/modelcontextprotocol/registry (see ``data/README.md``), plus
* ``data/curated.json`` — entries mgx curates for reference servers that really install from
  PyPI and npm, marked with ``_meta["dev.mgx/curated"]``. ``--refresh-curated`` re-reads
  their newest versions and publish times from PyPI and the npm registry.

:func:`ensure_imported` loads the snapshot into an empty cache (one transaction).
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry_cache.errors import CacheError, ServerJsonError
from registry_cache.serverjson import (
    CURATED_META,
    OFFICIAL_META,
    from_legacy,
    parse_server,
)
from registry_cache.store import SNAPSHOT_KEY, Cache, SyncState, semver_key

DATA_DIR = Path(__file__).with_name("data")
SNAPSHOT_FILE = DATA_DIR / "snapshot.json.gz"
CURATED_FILE = DATA_DIR / "curated.json"
FORMAT = 1
IMPORTED_KEY = SNAPSHOT_KEY
# seed.json entries carry no registry metadata; they are dated by the seed's upstream commit
# (453956d, 2025-12-12), the closest thing to a publish time the data has.
SEED_DATE = "2025-12-12T00:00:00Z"
MAX_DESCRIPTION = 100


@dataclass(frozen=True, kw_only=True)
class SnapshotInfo:
    built_at: str
    servers: int
    versions: int
    counts: Mapping[str, int]
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    info: SnapshotInfo
    documents: tuple[Mapping[str, Any], ...]  # ServerResponse objects: {"server", "_meta"}


# --- reading and importing --------------------------------------------------------------------


def load(path: Path = SNAPSHOT_FILE) -> Snapshot:
    """Read a snapshot file; CacheError if it is missing or damaged."""
    try:
        with gzip.open(path, "rb") as fh:
            doc = json.loads(fh.read())
        if doc.get("format") != FORMAT:
            raise CacheError(f"snapshot {path} has format {doc.get('format')!r}, want {FORMAT}")
        servers = doc["servers"]
        info = SnapshotInfo(
            built_at=doc["built_at"],
            servers=len({s["server"]["name"] for s in servers}),
            versions=len(servers),
            counts=doc.get("counts", {}),
            sources=tuple(doc.get("sources", ())),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CacheError(f"bundled snapshot {path} is unreadable ({exc}); reinstall mgx") from exc
    return Snapshot(info=info, documents=tuple(servers))


def import_into(cache: Cache, registry: str, *, path: Path = SNAPSHOT_FILE) -> SnapshotInfo:
    """Load the snapshot into ``cache`` as ``registry``'s data, in one transaction."""
    snapshot = load(path)
    parsed = [parse_server(doc) for doc in snapshot.documents]
    with cache.transaction():
        cache.upsert(registry, parsed)
        state = cache.sync_state(registry)
        if state is None or state.source != "live":
            cache.set_sync_state(
                SyncState(
                    registry=registry,
                    source="snapshot",
                    data_as_of=snapshot.info.built_at,
                    last_failure=state.last_failure if state else None,
                    last_error=state.last_error if state else None,
                )
            )
        cache.set_meta(IMPORTED_KEY, snapshot.info.built_at)
    return snapshot.info


def ensure_imported(cache: Cache, registry: str, *, path: Path = SNAPSHOT_FILE) -> bool:
    """Import the snapshot once per cache (first use); True if it was imported now."""
    if cache.get_meta(IMPORTED_KEY) is not None:
        return False
    with cache.transaction():
        # Checked again inside the write lock: two first commands may race here.
        if cache.get_meta(IMPORTED_KEY) is not None:
            return False
        import_into(cache, registry, path=path)
    return True


# --- building ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BuildReport:
    path: Path
    servers: int
    versions: int
    counts: Mapping[str, int]


def _shorten(text: str, limit: int = MAX_DESCRIPTION) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:-")
    return cut + "…"


def _response(
    server: Mapping[str, Any], official: Mapping[str, Any], *, curated: bool = False
) -> dict[str, Any]:
    meta: dict[str, Any] = {OFFICIAL_META: dict(official)}
    if curated:
        meta[CURATED_META] = True
    return {"server": dict(server), "_meta": meta}


def _mark_latest(docs: list[dict[str, Any]]) -> None:
    """Set ``isLatest`` on the highest version of each server (by semver, then publish time)."""
    best: dict[str, tuple[Any, ...]] = {}
    for i, doc in enumerate(docs):
        s, m = doc["server"], doc["_meta"][OFFICIAL_META]
        rank = (semver_key(s["version"]) or "", m.get("publishedAt") or "")
        name = s["name"]
        if name not in best or rank > best[name][0]:
            best[name] = (rank, i)
    winners = {i for _, i in best.values()}
    for i, doc in enumerate(docs):
        doc["_meta"][OFFICIAL_META]["isLatest"] = i in winners


def build_documents(
    seed: Path, legacy: Path, curated: Path = CURATED_FILE
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every ServerResponse the snapshot will hold, and counts of what was kept or skipped."""
    counts = dict.fromkeys(
        (
            "seed",
            "legacy",
            "legacy_skipped_invalid",
            "legacy_duplicates",
            "legacy_descriptions_shortened",
            "curated",
        ),
        0,
    )
    docs: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()

    def add(doc: dict[str, Any]) -> bool:
        parse_server(doc)  # the snapshot only holds documents that pass the schema checks
        key = (doc["server"]["name"], doc["server"]["version"])
        if key in seen:
            return False
        seen.add(key)
        docs.append(doc)
        return True

    for entry in json.loads(curated.read_text()):
        official = {
            "status": "active",
            "publishedAt": entry["publishedAt"],
            "updatedAt": entry["publishedAt"],
        }
        add(_response(entry["server"], official, curated=True))
        counts["curated"] += 1
    for server in json.loads(seed.read_text()):
        official = {"status": "active", "publishedAt": SEED_DATE, "updatedAt": SEED_DATE}
        if add(_response(server, official)):
            counts["seed"] += 1
    for old in json.loads(legacy.read_text()):
        server, official = from_legacy(old)
        if isinstance(server.get("description"), str):
            short = _shorten(server["description"])
            if short != server["description"]:
                counts["legacy_descriptions_shortened"] += 1
                server["description"] = short
        try:
            fresh = add(_response(server, official))
        except ServerJsonError:
            counts["legacy_skipped_invalid"] += 1
            continue
        if fresh:
            counts["legacy"] += 1
        else:
            counts["legacy_duplicates"] += 1
    _mark_latest(docs)
    return docs, counts


def build(
    seed: Path,
    legacy: Path,
    *,
    curated: Path = CURATED_FILE,
    out: Path = SNAPSHOT_FILE,
    built_at: str | None = None,
) -> BuildReport:
    """Write the snapshot file (atomically) and return what went into it."""
    import os
    import tempfile
    from datetime import UTC, datetime

    docs, counts = build_documents(seed, legacy, curated)
    built_at = built_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = {
        "format": FORMAT,
        "built_at": built_at,
        "sources": [
            "github.com/modelcontextprotocol/registry data/seed.json @453956d (MIT)",
            "github.com/modelcontextprotocol/registry data/seed_2025_05_16.json @a8cfd74 (MIT), "
            "converted from the legacy format",
            "mgx curated entries (registry_cache/data/curated.json): versions and publish "
            "times from pypi.org and registry.npmjs.org",
        ],
        "counts": counts,
        "servers": docs,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".snapshot-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            # mtime=0 keeps the file byte-identical for identical input
            with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=9, mtime=0) as gz:
                gz.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return BuildReport(
        path=out,
        servers=len({d["server"]["name"] for d in docs}),
        versions=len(docs),
        counts=counts,
    )


# --- refreshing the curated entries from PyPI / npm ------------------------------------------


def _get_json(url: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 (fixed https URLs)
        return json.loads(resp.read())


def _pypi_releases(project: str, keep: int) -> list[tuple[str, str]]:
    """The newest ``keep`` (version, first upload time) of a PyPI project, newest first."""
    doc = _get_json(f"https://pypi.org/pypi/{project}/json")
    out = []
    for version, files in doc["releases"].items():
        live = [f for f in files if not f.get("yanked")]
        key = semver_key(version)
        if live and key and "~0" not in key:  # releases only, no pre-releases
            out.append((version, min(f["upload_time_iso_8601"] for f in live)))
    out.sort(key=lambda v: semver_key(v[0]) or "", reverse=True)
    return out[:keep]


def _npm_releases(package: str, keep: int) -> list[tuple[str, str]]:
    """The ``latest`` dist-tag and the versions below it, newest first, with publish times."""
    doc = _get_json(f"https://registry.npmjs.org/{package.replace('/', '%2F')}")
    latest = semver_key(doc["dist-tags"]["latest"]) or ""
    out = [
        (v, doc["time"][v])
        for v in doc["versions"]
        if (semver_key(v) or "~") <= latest
        and not doc["versions"][v].get("deprecated")
        and "~0" not in (semver_key(v) or "")
    ]
    out.sort(key=lambda v: semver_key(v[0]) or "", reverse=True)
    return out[:keep]


def refresh_curated(path: Path = CURATED_FILE, *, keep: int = 3) -> list[dict[str, Any]]:
    """Rewrite each curated server's versions from its package registry (network needed)."""
    entries = json.loads(path.read_text())
    templates: dict[str, dict[str, Any]] = {}
    for entry in entries:  # the newest entry of each name is the template for all versions
        name = entry["server"]["name"]
        if name not in templates or (semver_key(entry["server"]["version"]) or "") > (
            semver_key(templates[name]["version"]) or ""
        ):
            templates[name] = entry["server"]
    fresh: list[dict[str, Any]] = []
    for name, template in templates.items():
        package = template["packages"][0]
        if package["registryType"] == "pypi":
            releases = _pypi_releases(package["identifier"], keep)
        elif package["registryType"] == "npm":
            releases = _npm_releases(package["identifier"], keep)
        else:
            raise CacheError(f"{name}: cannot refresh a {package['registryType']} package")
        for version, published in releases:
            server = json.loads(json.dumps(template))
            server["version"] = version
            server["packages"][0]["version"] = version
            fresh.append({"publishedAt": published, "server": server})
    path.write_text(json.dumps(fresh, indent=2, ensure_ascii=False) + "\n")
    return fresh


# --- command line -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m registry_cache.snapshot build [--shared DIR] [--refresh-curated]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m registry_cache.snapshot", description="Rebuild the bundled snapshot."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="rebuild registry_cache/data/snapshot.json.gz")
    b.add_argument(
        "--shared",
        type=Path,
        # The copies in the repository's test data (a checkout holds them; an installed
        # wheel does not, and has no need to rebuild its snapshot).
        default=Path(__file__).resolve().parents[1] / "tests" / "data",
        help="the reference data directory holding registry/seed*.json (default: tests/data)",
    )
    b.add_argument("--out", type=Path, default=SNAPSHOT_FILE, help="where to write the snapshot")
    b.add_argument(
        "--refresh-curated",
        action="store_true",
        help="first re-read curated versions from PyPI and npm (network)",
    )
    args = parser.parse_args(argv)
    if args.refresh_curated:
        entries = refresh_curated()
        print(f"curated: {len(entries)} versions refreshed from PyPI/npm", file=sys.stderr)
    registry = args.shared / "registry"
    report = build(registry / "seed.json", registry / "seed_2025_05_16_legacy.json", out=args.out)
    print(
        f"wrote {report.path}: {report.servers} servers, {report.versions} versions; "
        + ", ".join(f"{k}={v}" for k, v in report.counts.items()),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
