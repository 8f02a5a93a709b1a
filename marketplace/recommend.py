"""``mgx tool recommend``: servers for a task, ranked by what a user would weigh, with reasons.

Candidates come from the catalogue (full-text relevance to the task; without a task, the
curated and most complete entries). Each is scored on signals, and every signal that counted
is said in words:

- **installable here** (a package or remote this machine can install and run) — by far the
  strongest: a server that cannot be installed is not a recommendation, whatever it promises;
- **verified provenance**, when the project's lock or the registry's ``_meta`` says so;
- **active** (not deprecated) and **recent** (published in the last year);
- **complementary**: used in the same sessions as the project's tools (local usage records);
- quality signals a registry publishes in ``_meta`` extensions (ratings, downloads, stars),
  shown as found and counted a little.

Tools already in the project are left out: the point is what to add.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from marketplace.installable import installability, server_types

if TYPE_CHECKING:
    from marketplace.catalog import Catalog
    from marketplace.lockfile import Lockfile
    from marketplace.usage import UsageStore
    from registry_cache.serverjson import ServerVersion

__all__ = ["Recommendation", "Recommendations", "quality_signals", "recommend"]

OFFICIAL_META = "io.modelcontextprotocol.registry/official"
QUALITY_KEYS = ("rating", "stars", "downloads", "weeklyDownloads", "installs", "score")
RECENT_DAYS = 365


@dataclass(frozen=True, kw_only=True)
class Recommendation:
    name: str
    version: str
    registry: str
    description: str
    score: float
    installable: bool
    reasons: list[str] = field(default_factory=list)  # why it ranks where it does
    quality: dict[str, Any] = field(default_factory=dict)  # `_meta` signals as published


@dataclass(frozen=True)
class Recommendations:
    items: list[Recommendation]  # best first
    # Project tools that matched the task: left out (the point is what to add), but named,
    # or a user looking for a tool they already have would think the catalogue lacks it.
    in_project: list[str]


def quality_signals(raw_meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """Numeric quality signals in ``_meta`` extensions (``namespace.key`` -> value)."""
    out: dict[str, Any] = {}
    for namespace, block in (raw_meta or {}).items():
        if namespace == OFFICIAL_META or not isinstance(block, Mapping):
            continue
        for key, value in block.items():
            if (
                key in QUALITY_KEYS
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
            ):
                out[f"{namespace}.{key}"] = value
    return out


def _meta_verified(raw_meta: Mapping[str, Any] | None) -> str:
    """The namespace of a ``_meta`` extension that says the provenance is verified, or ""."""
    for namespace, block in (raw_meta or {}).items():
        if not isinstance(block, Mapping):
            continue
        flag = block.get("verified")
        provenance = block.get("provenance")
        if flag is True or (isinstance(provenance, Mapping) and provenance.get("verified")):
            return namespace
    return ""


def _days_since(stamp: str | None, now: datetime) -> int | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return max(0, (now - moment).days)


def _names(full: str) -> set[str]:
    """The names a server may be recorded under: full, and short (the hub's prefix)."""
    return {full, full.rsplit("/", 1)[-1]}


def _co_usage(sessions: Iterable[set[str]], project_tools: Iterable[str]) -> dict[str, int]:
    """For each recorded server name: in how many sessions it ran beside a project tool."""
    mine: set[str] = set()
    for tool in project_tools:
        mine |= _names(tool)
    counts: dict[str, int] = {}
    for servers in sessions:
        if servers & mine:
            for server in servers - mine:
                counts[server] = counts.get(server, 0) + 1
    return counts


def _score(
    sv: ServerVersion,
    relevance: float,
    *,
    registry: str,
    lock: Lockfile | None,
    co_usage: Mapping[str, int],
    now: datetime,
) -> Recommendation:
    reasons: list[str] = []
    verdict = installability(server_types(sv))
    score = relevance
    if verdict.installable:
        score += 10
        reasons.append(f"installable here ({', '.join(verdict.usable)})")
    else:
        score -= 10
        reasons.append(f"not installable here: {verdict.reason}")
    locked = lock.tools.get(sv.name) if lock is not None else None
    if locked is not None and locked.verification.get("status") == "verified":
        score += 3
        reasons.append("verified provenance (mgx.lock)")
    elif namespace := _meta_verified(sv.raw_meta):
        score += 3
        reasons.append(f"verified provenance (registry _meta {namespace})")
    if sv.meta.status == "deprecated":
        score -= 5
        reasons.append(
            "deprecated" + (f": {sv.meta.status_message}" if sv.meta.status_message else "")
        )
    else:
        reasons.append("active")
    days = _days_since(sv.meta.published_at, now)
    if days is not None and days <= RECENT_DAYS:
        score += 1
        reasons.append(f"recent (published {days} days ago)")
    if sv.meta.curated:
        score += 2
        reasons.append("curated")
    together = max((co_usage.get(n, 0) for n in _names(sv.name)), default=0)
    if together:
        score += min(3.0, 1 + math.log2(together))
        reasons.append(f"used with this project's tools in {together} session(s)")
    quality = quality_signals(sv.raw_meta)
    for key, value in quality.items():
        short = key.rsplit(".", 1)[-1]
        reasons.append(f"{short} {value:g}" if isinstance(value, float) else f"{short} {value}")
        if short in ("downloads", "weeklyDownloads", "installs", "stars") and value > 0:
            score += min(2.0, math.log10(1 + value) / 3)
        elif short in ("rating", "score") and value > 0:
            score += min(2.0, float(value) / 2.5)
    return Recommendation(
        name=sv.name,
        version=sv.version,
        registry=registry,
        description=" ".join(
            ((sv.title + ": ") if sv.title else "").split() + sv.description.split()
        ),
        score=round(score, 3),
        installable=verdict.installable,
        reasons=reasons,
        quality=quality,
    )


def recommend(
    catalog: Catalog,
    task: str | None = None,
    *,
    lock: Lockfile | None = None,
    usage: UsageStore | None = None,
    limit: int = 10,
    now: datetime | None = None,
) -> Recommendations:
    """Ranked recommendations for ``task`` (None: for the project as it stands)."""
    now = now or datetime.now(UTC)
    hits = catalog.search(task or "", limit=max(50, limit * 5))
    top = max((h.score for h in hits), default=0.0) or 1.0
    in_project = set(lock.tools) if lock is not None else set()
    sessions = list(usage.sessions().values()) if usage is not None else []
    co = _co_usage(sessions, in_project)
    out = []
    have = []
    for hit in hits:
        if hit.name in in_project:
            have.append(hit.name)
            continue
        sv = catalog.cache.get(hit.name, registry=hit.registry)
        if sv is None:
            continue
        # Relevance scaled to 0..5 so that it orders within, not across, the signal tiers.
        relevance = 5 * max(0.0, hit.score) / top if task else 0.0
        out.append(_score(sv, relevance, registry=hit.registry, lock=lock, co_usage=co, now=now))
    out.sort(key=lambda r: (-r.score, r.name))
    in_project_hits = list(dict.fromkeys(have)) if task else []  # one per name, any registry
    return Recommendations(items=out[:limit], in_project=in_project_hits)
