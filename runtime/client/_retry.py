"""When and how long to wait before trying a chat request again."""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime
from time import time

# 408/425/429 and every 5xx are worth another try; other 4xx mean the request itself is wrong.
RETRY_STATUSES = frozenset({408, 425, 429})
MAX_DELAY_S = 30.0


class Transient(Exception):
    """A failure that another attempt may not meet (server busy, connection lost)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth another attempt."""
    return status >= 500 or status in RETRY_STATUSES


def delay_for(attempt: int, *, base: float, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (0-based ``attempt`` just failed).

    Exponential with jitter (half to full of ``base * 2**attempt``) so that agents sharing a
    server do not come back in lockstep; a server's ``Retry-After`` wins when it is longer.
    """
    delay: float = min(base * 2**attempt, MAX_DELAY_S) * random.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_DELAY_S))
    return delay


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (it may be a number or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None
