"""The guard on a final answer: check it, run one repair turn, keep the better answer.

The one entry point every final answer goes through (single agent and team presenter).
``repair`` runs ONE more turn of the agent that wrote ``text``, with the given instruction
appended as a user message, and returns that turn's final text.

Which answer is kept when the repaired one still asks (the latest is not always the best:
a model that asks twice may have dropped the work the second time): in this order,

1. the repaired answer, when it asks nothing;
2. the repaired answer without its asking sentences, when what remains stands alone;
3. the first answer without its asking sentences, when what remains stands alone;
4. whichever of the two has more text left once its asking sentences are removed (the
   first on a tie): there is nobody to ask, so an answer is delivered either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Literal

from runtime.autonomy._detect import find_asking, open_question, strip_asking
from runtime.autonomy._judge import Judge
from runtime.prompts import REPROMPT

__all__ = ["GuardOutcome", "Kept", "guard_final_answer"]

Kept = Literal["original", "repaired", "original-trimmed", "repaired-trimmed"]


@dataclass(frozen=True, kw_only=True)
class GuardOutcome:
    """What the guard did to one final answer (``--json`` reports :meth:`to_json`)."""

    text: str  # the answer that is kept
    fired: bool  # the guard fired on the first answer
    matched: str | None = None  # why it fired on the first answer (reason and matched text)
    repaired: bool = False  # a repair turn ran
    still_asking: str | None = None  # why the repaired answer still fired, if it did
    kept: Kept = "original"
    why: str = ""
    repair_error: str | None = None  # the repair turn failed (the first answer is kept)
    judge: dict[str, object] | None = None  # the model's verdict, when one was asked

    def to_json(self) -> dict[str, object]:
        return {
            "fired": self.fired,
            "matched": self.matched,
            "repaired": self.repaired,
            "still_asking": self.still_asking,
            "kept": self.kept,
            "why": self.why,
            "repair_error": self.repair_error,
            "judge": self.judge,
        }

    def summary(self) -> str:
        """One line for stderr in text mode."""
        if not self.fired:
            return "autonomy guard: the answer asks nothing"
        line = f"autonomy guard: fired ({self.matched}); kept the {self.kept} answer: {self.why}"
        return line if self.repair_error is None else f"{line} ({self.repair_error})"


def _left(text: str) -> int:
    """How much answer is left once the asking sentences are cut out."""
    return len(text.strip()) - sum(f.end - f.start for f in find_asking(text))


async def guard_final_answer(
    text: str,
    repair: Callable[[str], Awaitable[str]] | None,
    *,
    judge: Judge | None = None,
) -> GuardOutcome:
    """Check ``text``; when it asks the reader, run one ``repair`` turn and keep the better.

    ``repair`` may raise; the error is recorded and the first answer is kept (trimmed when
    that leaves a standalone answer), since the run already has an answer to deliver.
    ``judge`` (optional, see ``model_judge``) settles the borderline cases of the first
    answer: a finding made only of weak closing signals, or a closing question the detector
    let pass. An unusable verdict leaves the offline one standing.
    """
    first = find_asking(text)
    verdict = None
    if judge is not None and first and not any(f.strong for f in first):
        verdict = await judge(text)
        if verdict is not None and not verdict.asks_user:
            return GuardOutcome(
                text=text, fired=False, judge=verdict.to_json(),
                why=f"borderline ({first[0].describe()}); the model's verdict: it asks nothing",
            )  # fmt: skip
    elif judge is not None and not first and open_question(text) is not None:
        verdict = await judge(text)
        if verdict is not None and verdict.asks_user:
            matched = f"the model's verdict on a closing question: {verdict.quote!r}"
            outcome = await _repair(text, matched, repair)
            return replace(outcome, judge=verdict.to_json())
    if not first:
        judged = verdict.to_json() if verdict is not None else None
        return GuardOutcome(text=text, fired=False, why="the answer asks nothing", judge=judged)
    outcome = await _repair(text, first[0].describe(), repair)
    return replace(outcome, judge=verdict.to_json()) if verdict is not None else outcome


async def _repair(
    text: str, matched: str, repair: Callable[[str], Awaitable[str]] | None
) -> GuardOutcome:
    """The guard fired on ``text``: one repair turn, then the keep-the-better rule."""
    if repair is None:
        return _fallback(text, matched, why="no repair turn possible")
    try:
        repaired = await repair(REPROMPT)
    except Exception as exc:  # noqa: BLE001 - a failed turn leaves the first answer standing
        outcome = _fallback(text, matched, why="the repair turn failed")
        return replace(outcome, repaired=True, repair_error=str(exc) or type(exc).__name__)
    still = find_asking(repaired)
    if not still and repaired.strip():
        return GuardOutcome(
            text=repaired, fired=True, matched=matched, repaired=True, kept="repaired",
            why="the repaired answer asks nothing",
        )  # fmt: skip
    still_why = still[0].describe() if still else "the repaired answer was empty"
    base = GuardOutcome(text=text, fired=True, matched=matched, repaired=True,
                        still_asking=still_why)  # fmt: skip
    if repaired.strip() and (trimmed := strip_asking(repaired)) is not None:
        return replace(
            base, text=trimmed, kept="repaired-trimmed",
            why="the repaired answer still asked; kept without its asking sentences",
        )  # fmt: skip
    if (trimmed := strip_asking(text)) is not None and trimmed != text:
        return replace(
            base, text=trimmed, kept="original-trimmed",
            why="the repaired answer still asked; the first answer without its asking "
            "sentences stands alone",
        )  # fmt: skip
    if repaired.strip() and _left(repaired) > _left(text):
        return replace(
            base, text=repaired, kept="repaired",
            why="both answers ask; the repaired one holds more of an answer",
        )  # fmt: skip
    return replace(
        base, kept="original", why="both answers ask; the first holds at least as much answer"
    )


def _fallback(text: str, matched: str, *, why: str) -> GuardOutcome:
    trimmed = strip_asking(text)
    if trimmed is not None and trimmed != text:  # equal: only the judge saw the question
        return GuardOutcome(
            text=trimmed, fired=True, matched=matched, kept="original-trimmed",
            why=f"{why}; the answer without its asking sentences stands alone",
        )  # fmt: skip
    return GuardOutcome(
        text=text, fired=True, matched=matched, kept="original",
        why=f"{why}; the answer is kept as it is",
    )  # fmt: skip
