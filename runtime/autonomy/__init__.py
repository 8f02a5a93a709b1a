"""The autonomy guard: a final answer must not ask its (absent) reader anything.

Nobody reads an mgx run's final answer in time to reply, so an answer that ends by asking,
offering more or waiting for approval is an unfinished task. Public surface::

    asks_user(text) -> str | None     the offline detector (None: clean; else why and where)
    find_asking(text) -> [Finding]    every asking sentence with its span
    strip_asking(text) -> str | None  the answer without them, when what remains stands alone
    guard_final_answer(text, repair, judge=None)
                                      check, one repair turn, keep the better -> GuardOutcome
    model_judge(client) -> Judge      a model's second opinion on borderline answers
    open_question(text) -> str | None a closing question the detector let pass (borderline)
    REPROMPT                          the repair instruction (text lives in runtime.prompts)

Modules: ``_text`` (masking and line roles), ``_lexicon`` (word classes per language),
``_detect`` (the structural rules), ``_guard`` (repair and the keep-the-better rule),
``_judge`` (the optional constrained-JSON verdict of a model).
"""

from __future__ import annotations

from runtime.autonomy._detect import Finding, asks_user, find_asking, open_question, strip_asking
from runtime.autonomy._guard import GuardOutcome, guard_final_answer
from runtime.autonomy._judge import Judge, Verdict, model_judge, parse_verdict
from runtime.prompts import REPROMPT

__all__ = [
    "REPROMPT",
    "Finding",
    "GuardOutcome",
    "Judge",
    "Verdict",
    "asks_user",
    "find_asking",
    "guard_final_answer",
    "model_judge",
    "open_question",
    "parse_verdict",
    "strip_asking",
]
