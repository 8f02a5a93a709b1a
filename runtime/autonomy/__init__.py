"""The autonomy guard: a final answer must not ask its (absent) reader anything.

Nobody reads an mgx run's final answer in time to reply, so an answer that ends by asking,
offering more or waiting for approval is an unfinished task. Public surface::

    asks_user(text) -> str | None     the offline detector (None: clean; else why and where)
    find_asking(text) -> [Finding]    every asking sentence with its span
    strip_asking(text) -> str | None  the answer without them, when what remains stands alone
    guard_final_answer(text, repair)  check, one repair turn, keep the better -> GuardOutcome
    REPROMPT                          the repair instruction (text lives in runtime.prompts)

Modules: ``_text`` (masking and line roles), ``_lexicon`` (word classes per language),
``_detect`` (the structural rules), ``_guard`` (repair and the keep-the-better rule).
"""

from __future__ import annotations

from runtime.autonomy._detect import Finding, asks_user, find_asking, strip_asking
from runtime.autonomy._guard import GuardOutcome, guard_final_answer
from runtime.prompts import REPROMPT

__all__ = [
    "REPROMPT",
    "Finding",
    "GuardOutcome",
    "asks_user",
    "find_asking",
    "guard_final_answer",
    "strip_asking",
]
