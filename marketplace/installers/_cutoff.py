"""The dependency cut-off: resolve a tool's dependencies as of when it was published.

MCP servers pin their dependencies loosely, so an old version resolved against today's
packages often no longer starts (``time-mcp-pypi`` 1.0.6 imports a pydantic API that is gone).
By default (``cutoff="publish"``) dependencies are resolved as of the later of the registry's
``publishedAt`` and the upload time of the package's own files (never earlier than the package
itself, or it could not be resolved at all); ``"now"`` resolves against today; an explicit
RFC 3339 time or date is used as given. The result is recorded in the lock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marketplace.errors import ResolutionError

PUBLISH = "publish"
NOW = "now"


def parse_time(text: str) -> datetime:
    """An RFC 3339 time (or a bare date) as an aware UTC datetime."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ResolutionError(
            f"cut-off {text!r} is not a date or time (use e.g. 2025-09-12 or 2025-09-12T02:14:45Z)"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """Whole seconds, rounded *up*: resolvers treat the cut-off as exclusive."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def choose_cutoff(requested: str, *, published_at: str | None, uploaded: list[str]) -> str:
    """The cut-off to record: ``"now"`` or an RFC 3339 time in whole seconds (UTC)."""
    if requested == NOW:
        return NOW
    if requested != PUBLISH:
        return format_time(parse_time(requested))
    moments = [parse_time(t) for t in uploaded if t]
    if published_at:
        moments.append(parse_time(published_at))
    if not moments:
        return NOW  # nothing says when it was published; the lock shows it
    return format_time(max(moments))
