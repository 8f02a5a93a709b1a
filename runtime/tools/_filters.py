"""Which tools an agent may see: allow/deny glob patterns plus an optional predicate."""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runtime.tools._model import HubTool

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ToolFilter:
    """Allow/deny rules for one agent.

    Patterns are shell globs (``fnmatch``) matched against the exposed name
    (``time__get_current_time``) and against ``server/tool`` (``time/get_current_time``).
    An empty ``allow`` allows everything; ``deny`` wins over ``allow``. ``predicate`` sees
    each remaining tool; a predicate that raises leaves that tool out (and logs why).
    """

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    predicate: Callable[[HubTool], bool] | None = None

    def admits(self, tool: HubTool) -> bool:
        """Whether ``tool`` passes this filter."""
        keys = (tool.name, f"{tool.server}/{tool.tool}")
        if self.allow and not _any_match(keys, self.allow):
            return False
        if _any_match(keys, self.deny):
            return False
        if self.predicate is None:
            return True
        try:
            return bool(self.predicate(tool))
        except Exception:  # a faulty user filter must not take the agent down: leave the tool out
            log.warning("tool filter raised for %s; leaving it out", tool.name, exc_info=True)
            return False


def _any_match(keys: tuple[str, ...], patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for key in keys for pattern in patterns)
