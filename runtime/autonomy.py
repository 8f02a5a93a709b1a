"""The autonomy guard: spot a final answer that asks the (absent) user something.

A team's final answer is read by nobody who could reply, so an answer that ends with a
question to the user, or asks for clarification, is not an answer. ``asks_user`` finds such
text with conservative patterns; the team re-prompts once when it fires.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["REPROMPT", "GuardOutcome", "asks_user", "guard_final_answer"]

REPROMPT = (
    "Nobody can answer questions or give clarification: there is no user to reply. "
    "Do not ask anything. Where something is unclear, choose the most reasonable "
    "interpretation, state your assumptions in one or two sentences, and give the complete "
    "final answer now."
)

# Requests for input addressed to the reader; matched case-insensitively anywhere.
_REQUESTS = [
    r"\b(could|can|would|will) you (please )?(clarify|specify|confirm|provide|share|tell me|"
    r"let me know|explain what|indicate|elaborate)\b",
    r"\bplease (clarify|specify|confirm|provide (more|additional|the)|"
    r"let me know (which|what|whether|if you))",
    r"\b(i|we) (need|require|would need) (more|additional|some|further) "
    r"(information|details|context|clarification)\b",
    r"\bbefore (i|we) (proceed|continue|start|go (on|ahead)|answer)\b.*\?",
    r"\b(do|would) you (want|like|prefer) (me|us) to\b",
    r"\bwhich (one|option|of these|of the following) (do|would|should) you\b",
    r"\b(shall|should) i (proceed|continue|go ahead)\b",
    r"\b(awaiting|waiting for) your (reply|response|input|confirmation)\b",
    r"\bcould you clarify\b",
    r"\bwhat (exactly )?do you mean\b",
]
_REQUEST_RE = re.compile("|".join(f"(?:{p})" for p in _REQUESTS), re.IGNORECASE | re.DOTALL)
_CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)


def asks_user(text: str) -> str | None:
    """Return why ``text`` looks like it asks the user something, or None when it does not.

    Fires on an explicit request for input/clarification anywhere, or on a question mark
    ending the last sentence (outside code blocks). Rhetorical questions in the middle of an
    answer are allowed; a closing question is not, because nobody will answer it.
    """
    prose = _CODE_BLOCK.sub(" ", text or "").strip()
    if not prose:
        return None
    match = _REQUEST_RE.search(prose)
    if match:
        return f"asks for input: {match.group(0).strip()[:80]!r}"
    last_line = next((ln.strip() for ln in reversed(prose.splitlines()) if ln.strip()), "")
    if last_line.rstrip("*_ )\"'").endswith("?"):
        return f"ends with a question: {last_line[-80:]!r}"
    return None


# --- The guard on a final answer, with one repair turn -------------------------------------
# The one entry point every final answer goes through (single agent and team presenter).
# ``repair`` runs ONE more turn of the agent that wrote ``text``, with the given instruction
# appended as a user message, and returns that turn's final text.


@dataclass(frozen=True, kw_only=True)
class GuardOutcome:
    """What the guard did to one final answer (``--json`` reports :meth:`to_json`)."""

    text: str  # the answer that is kept
    fired: bool  # the guard fired on the first answer
    matched: str | None = None  # why it fired on the first answer (reason and matched text)
    repaired: bool = False  # a repair turn ran
    still_asking: str | None = None  # why the repaired answer still fired, if it did
    kept: str = "original"  # "original" | "repaired" | a trimmed variant, see ``why``
    why: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "fired": self.fired,
            "matched": self.matched,
            "repaired": self.repaired,
            "still_asking": self.still_asking,
            "kept": self.kept,
            "why": self.why,
        }


async def guard_final_answer(
    text: str, repair: Callable[[str], Awaitable[str]] | None
) -> GuardOutcome:
    """Check ``text``; when it asks the reader, run one ``repair`` turn and keep the better."""
    reason = asks_user(text)
    if reason is None:
        return GuardOutcome(text=text, fired=False, why="the answer asks nothing")
    if repair is None:
        return GuardOutcome(text=text, fired=True, matched=reason, why="no repair possible")
    repaired = await repair(REPROMPT)
    still = asks_user(repaired)
    if still is None and repaired.strip():
        return GuardOutcome(
            text=repaired, fired=True, matched=reason, repaired=True, kept="repaired",
            why="the repaired answer asks nothing",
        )  # fmt: skip
    return GuardOutcome(
        text=text, fired=True, matched=reason, repaired=True, still_asking=still,
        kept="original", why="the repaired answer still asks: the first is kept",
    )  # fmt: skip
