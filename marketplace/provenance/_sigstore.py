"""The one place mgx calls sigstore: an offline verifier over the embedded trust root.

``offline=True`` makes sigstore-python use the trusted root it ships (Fulcio CAs, Rekor and CT
log keys) without a TUF refresh, so a check gives the same answer with or without network and
``sync --frozen``/``verify`` can repeat it anywhere. Errors of sigstore and pydantic are turned
into ``VerificationError`` here, at the boundary.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sigstore.verify import Verifier

__all__ = ["log_index", "verifier"]


@functools.cache
def verifier() -> Verifier:
    """Sigstore's production instance, offline (cached: building it parses the trust root)."""
    from sigstore.verify import Verifier

    # sigstore logs a warning each time it loads TUF metadata offline; that is what we ask for.
    logging.getLogger("sigstore").setLevel(logging.ERROR)
    return Verifier.production(offline=True)


def log_index(entries: Any) -> int | None:
    """The Rekor log index of the first transparency-log entry (dicts or sigstore models)."""
    for entry in entries or ():
        value = (
            entry.get("logIndex") if isinstance(entry, dict) else getattr(entry, "log_index", None)
        )
        if value is not None:
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None
