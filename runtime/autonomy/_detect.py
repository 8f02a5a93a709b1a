"""Does a final answer ask its reader something? Decided from structure, not phrases.

1. ``_text`` masks what the writer does not say to the reader (code, quotations, thinking)
   and gives each line a role; only the writer's own prose is read, never listed, labelled
   or heading material (survey questions, FAQ entries, quiz items, dialogue, translations).
2. Each prose sentence gets speech-act features from ``_lexicon``'s word classes: who is
   addressed, who acts, a condition on the reader's wish, an imperative to respond, a need
   for the reader's data, waiting on the reader.
3. Requests, offers conditioned on the reader's wish, imperatives to respond and waiting
   ask wherever they stand. Weaker signals (a polite "please choose", an unconditioned offer
   of more help, a question) ask only in the closing part, and a question only when nothing
   answers it after it and it is aimed at the reader (second person, the writer's next
   action, a polite question form, or an elliptical "Anything else?").
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from runtime.autonomy._lexicon import LEXICONS, Lexicon
from runtime.autonomy._text import Sentence, detect_language, mask_blocks, sentences

__all__ = ["Finding", "asks_user", "find_asking", "strip_asking"]

# A question's own clause: after "The question remains:" only the part after the colon is
# what is asked.
_AFTER_COLON = re.compile(r"^.*[:：]\s*")
# A lead-in that is a question although it ends with a colon ("Which would you prefer:" and
# a list of options).
_QUESTION_LEAD = re.compile(
    r"(which|what|would|do|does|should|shall|could|can|cuál|qué|quel|quelle|lequel|laquelle|"
    r"welche[rsn]?|qual|quais)\b",
    re.IGNORECASE,
)
# A closing yes/no question about the answer itself ("Would a PDF be more useful?", "Is this
# what you needed?") asks for the reader's verdict.
_YES_NO_TO_READER = re.compile(
    r"[*_\s]*(would|should|shall)\b|[*_\s]*(does|do|is|are|was|will) (this|that|these|those|it)\b",
    re.IGNORECASE,
)
_WRITER_EN = re.compile(r"\b(I|me|my)\b|\b[Ss]hould we\b")
_WORDS = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_CONTENT = re.compile(r"[^\W\d_]{3}|[\u3040-\u30ff\u4e00-\u9fff]")
_CLOSING = 2  # the closing part: the last two prose sentences
# Requests open an answer ("Before I start, could you ...") or close it; a long body between
# is content. Reading only the opening and the closing sentences keeps the cost flat in the
# length of the answer (the 1 ms budget holds for answers of any size).
_HEAD, _TAIL = 2, 6
_LINES = (4, 12)  # the lines read from the start and the end of a long answer


@dataclass(frozen=True)
class Finding:
    """One sentence that asks the reader: where it is in the answer and why."""

    start: int
    end: int
    reason: str
    quote: str
    # False for the weaker signals that count only in the closing part (a closing question,
    # "please choose", an unconditioned offer): where a model's second opinion may overrule.
    strong: bool = True

    def describe(self) -> str:
        return f"{self.reason}: {self.quote!r}"


def _anywhere(s: str, lex: Lexicon, question: bool) -> str | None:
    if lex.offer_question.search(s):
        return "asks whether to do more"
    if lex.respond.search(s):
        return "asks the reader to respond"
    if lex.need.search(s):
        return "asks for missing input"
    if question and lex.ask_question.search(s):
        return "asks for missing input"
    if lex.wait.search(s):
        return "waits for the reader"
    if lex.wish.search(s) and (lex.offer.search(s) or lex.eager.search(s)):
        return "offers more on the reader's wish"
    return None


def _short(clause: str) -> bool:
    if _CJK.search(clause):
        return len(clause.strip(" ？?")) <= 6
    return len(_WORDS.findall(clause)) <= 4


def _closing(s: Sentence, lex: Lexicon, lang: str, answered: bool) -> str | None:
    t = s.text
    if lex.please.search(t):
        return "asks the reader to decide or provide"
    if lex.eager.search(t) or (
        lex.offer_to_reader is not None and lex.offer_to_reader.search(t) and not s.is_question
    ):
        return "offers further help"
    asks = s.is_question or (t.endswith((":", "：")) and _QUESTION_LEAD.match(t) is not None)
    if not asks or answered:
        return None
    clause = _AFTER_COLON.sub("", t)
    if lex.reader.search(clause) or (lang == "en" and _WRITER_EN.search(clause)):
        return "ends with a question to the reader"
    if lex.polite_question is not None and lex.polite_question.search(clause):
        if lang == "ja" or re.search(r"[我您你]", clause):
            return "ends with a question to the reader"
    if _short(clause) or (lang == "en" and _YES_NO_TO_READER.match(clause)):
        return "ends with a question to the reader"
    return None


def find_asking(text: str) -> list[Finding]:
    """Every sentence of ``text`` that asks the reader for input or offers more."""
    return _scan(text)[0]


def open_question(text: str) -> str | None:
    """The closing question of ``text`` when nothing answers it and the detector let it
    pass (it reads as rhetorical): a borderline case for a second opinion."""
    found, last = _scan(text)
    return last if not found else None


def _scan(text: str) -> tuple[list[Finding], str | None]:
    sents = sentences(mask_blocks(text or ""), window=_LINES)
    prose = [s for s in sents if s.role == "prose"]
    if not prose:
        return [], None
    window = {id(s) for s in prose[:_HEAD] + prose[-_TAIL:]}
    langs = detect_language(" ".join(s.text for s in prose if id(s) in window))
    lexes = [(lang, LEXICONS[lang]) for lang in langs]
    closing = {id(s) for s in prose[-_CLOSING:]}
    # A question is answered when a statement follows it (prose, or a labelled answer).
    answered_after: list[bool] = [False] * len(sents)
    seen_statement = False
    for i in range(len(sents) - 1, -1, -1):
        answered_after[i] = seen_statement
        if sents[i].role in ("prose", "label") and not sents[i].is_question:
            seen_statement = True
    # Which prose sentences any lexicon's request classes touch: one search over the prose
    # (one sentence a line) per lexicon, instead of every class on every sentence.
    order = [i for i, s in enumerate(sents) if id(s) in window]
    joined = "\n".join(sents[i].text for i in order)
    starts, pos = [], 0
    for i in order:
        starts.append(pos)
        pos += len(sents[i].text) + 1
    touched: set[int] = set()
    lowered = joined.lower()
    for _, lex in lexes:
        folded, cased = lex.prefilter
        hits = list(folded.finditer(lowered))
        if cased is not None:
            hits += cased.finditer(joined)
        for m in hits:
            touched.add(order[bisect_right(starts, m.start()) - 1])
            touched.add(order[bisect_right(starts, max(m.end() - 1, m.start())) - 1])
    found: list[Finding] = []
    for i, s in enumerate(sents):
        if s.role != "prose" or (i not in touched and id(s) not in closing):
            continue
        reason = None
        strong = True
        # A question on a line of its own with a statement after it is a heading or an FAQ
        # entry ("Can I cancel? Yes, ..."), even when it reads like an offer.
        faq = s.is_question and answered_after[i] and s.whole_line
        for lang, lex in lexes:
            reason = None if faq or i not in touched else _anywhere(s.text, lex, s.is_question)
            if reason is None and id(s) in closing:
                reason = _closing(s, lex, lang, answered_after[i])
                strong = reason is None
            if reason:
                break
        if reason:
            quote = text[s.start : s.end]
            found.append(
                Finding(start=s.start, end=s.end, reason=reason, quote=quote[:120], strong=strong)
            )
    last = prose[-1]
    last_index = next(i for i, s in enumerate(sents) if s is last)
    unanswered = last.is_question and not answered_after[last_index]
    return found, (text[last.start : last.end] if unanswered else None)


def asks_user(text: str) -> str | None:
    """Why ``text`` asks its reader something (reason and the matched sentence), or None.

    The offline entry point of the autonomy guard: pure, no model, well under a millisecond
    for an ordinary answer.
    """
    found = find_asking(text)
    return found[0].describe() if found else None


_LIST_LINE = re.compile(r"\n+[ \t]*([-*+•]|\d{1,3}[.)])[^\n]*")


def strip_asking(text: str) -> str | None:
    """``text`` without its asking sentences, or None when nothing useful would remain.

    A flagged lead-in ending with a colon takes the list under it along (the questions it
    introduced). What remains must ask nothing and still hold a statement.
    """
    found = find_asking(text)
    if not found:
        return text
    spans: list[tuple[int, int]] = []
    for f in found:
        end = f.end
        if text[f.start : f.end].rstrip(" *_").endswith((":", "：")):
            while m := _LIST_LINE.match(text, end):
                end = m.end()
        spans.append((f.start, end))
    kept, cursor = [], 0
    for start, end in sorted(spans):
        kept.append(text[cursor:start])
        cursor = max(cursor, end)
    kept.append(text[cursor:])
    remaining = re.sub(r"[ \t]+\n", "\n", "".join(kept))
    remaining = re.sub(r"\n{3,}", "\n\n", remaining).strip()
    statements = [
        s
        for s in sentences(mask_blocks(remaining))
        if not s.is_question and _CONTENT.search(s.text)
    ]
    if not statements or len(remaining) < 20 or find_asking(remaining):
        return None
    return remaining
