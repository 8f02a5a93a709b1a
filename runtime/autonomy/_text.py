"""The structure of an answer: what is the writer's own prose, and in which order.

Material that the writer quotes, lists, labels or codes is content, not the writer speaking
to the reader, so it is masked (replaced by filler of the same length, which keeps offsets
into the original text) before sentences are cut: fenced and inline code, ``<think>`` blocks,
quotations in any script's quote marks, block quotes. Lines then get a role:

* ``prose``: the writer's own sentences (what the detector reads)
* ``list``: bulleted or numbered items (questions the task asked for, options, quizzes)
* ``label``: ``Q:``/``A:``, ``English:``, speaker lines of a dialogue, translations
* ``heading``: a Markdown heading followed by more text (a title answered below it)
* ``draft``: a text the answer drafts for someone else: an email or letter from its
  salutation ("Hi Sam,", "Sehr geehrte Frau Li,", "尊敬的…") to its sign-off ("Best regards,",
  "Cordialement,") and the name under it, or the paragraph after a lead-in that names a
  draft ("Here's a message you can send:", "Plantilla de respuesta:", "返信文面："). What it
  asks, it asks its addressee, not the reader
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Sentence", "detect_language", "mask", "mask_blocks", "mask_line", "sentences"]

Role = Literal["prose", "list", "label", "heading", "draft"]

_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"(```|~~~).*?(\1|$)", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
# Quotations: straight double quotes, typographic ones, guillemets, German low-high quotes,
# CJK corner brackets. Apostrophes are left alone ("can't", "l'année").
_QUOTES = re.compile(
    r'"[^"\n]{1,400}"|“[^”\n]{1,400}”|„[^“”\n]{1,400}[“”]|«[^»\n]{1,400}»|»[^«\n]{1,400}«|'
    r"「[^」\n]{1,400}」|『[^』\n]{1,400}』|‘[^’\n]{1,400}’|"
    # Single quotes only when they cannot be apostrophes: no letter before the opening one
    # ("don't", "users'"), none after the closing one.
    r"(?<!\w)'[^'\n]{2,200}?'(?!\w)"
)
_BLOCKQUOTE = re.compile(r"^[ \t]*>.*$", re.MULTILINE)
_LIST_ITEM = re.compile(r"^\s*([-*+•]|\d{1,3}[.)]|[a-zA-Z][.)])\s+\S")
_HEADING = re.compile(r"^\s*#{1,6}\s+\S")
_LABEL = re.compile(
    r"^\s*(\*\*|__)?(?P<label>[^\W\d_][\w .'’()-]{0,24}?)(\*\*|__)?\s*[:：](\*\*|__)?(\s|$)"
    r"|^\s*(\*\*|__)?(?P<qa>[QA])[.)](\s|$)"
)
# Labels that introduce the writer's own remark (still prose), not quoted or listed material.
_PROSE_LABELS = frozenset(
    "note notes ps p.s nb n.b next step next steps nota remarque hinweis anmerkung 注 注意 备注 "
    "提示 observação importante important tip".split()
)
_MATERIAL_LABELS = frozenset(
    "q a question answer pregunta respuesta frage antwort pergunta resposta réponse 问 答 "
    "質問 回答 riddle translation traducción traduction übersetzung tradução 翻译 翻訳 "
    "english englisch inglés anglais inglês german deutsch alemán allemand alemão spanish "
    "español espagnol spanisch espanhol french français französisch francés francês "
    "portuguese português portugiesisch portugués chinese 中文 英文 英语 japanese 日本語 英語 "
    "source target original subject asunto objet betreff assunto 主题 件名".split()
)
_SALUTATION = re.compile(
    r"^\s*(\*\*)?(hi|hello|hey|dear|good (morning|afternoon|evening)|hola|estimad[oa]s?|"
    r"querid[oa]s?|buen[oa]s (días|tardes)|bonjour|bonsoir|cher|chère|madame|monsieur|"
    r"salut|hallo|liebe[rs]?|sehr geehrte[rs]?|guten (tag|morgen|abend)|olá|oi|prezad[oa]s?|"
    r"caro|cara|bom dia|boa (tarde|noite))\b[^\n]{0,50}[,:!]?\s*$"
    r"|^\s*(尊敬的|亲爱的|您好|你好|各位)[^\n]{0,30}$|^[^\n]{1,30}(様|さま|各位)[、,]?\s*$",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^\s*(thanks|thank you|best|best regards|kind regards|regards|cheers|sincerely|yours|"
    r"warm regards|all the best|saludos|un saludo|atentamente|gracias|un abrazo|cordialmente|"
    r"cordialement|bien à vous|merci|bien cordialement|amicalement|sincères salutations|"
    r"mit freundlichen grüßen|viele grüße|beste grüße|liebe grüße|danke|vielen dank|gruß|"
    r"atenciosamente|abraços|um abraço|obrigad[oa]|saudações)\b[^\n]{0,40}$"
    r"|^\s*(此致|祝好|顺祝|谢谢)|^\s*(よろしくお願い|敬具)",
    re.IGNORECASE,
)


_ARTIFACT = re.compile(
    r"(message|e-?mail|reply|response|template|draft|script|text|post|tweet|letter|"
    r"example|sample|wording|mensaje|correo|plantilla|borrador|respuesta|courriel|modèle|"
    r"brouillon|réponse|nachricht|vorlage|entwurf|antwort|mensagem|modelo|rascunho|resposta|"
    r"消息|邮件|模板|草稿|回复|短信|メッセージ|メール|テンプレート|下書き|返信|文面|例文)",
    re.IGNORECASE,
)


def _presented(lines: list[str], filled: list[int]) -> set[int]:
    """The paragraph after a lead-in line that ends with a colon and names a draft."""
    out: set[int] = set()
    for pos, i in enumerate(filled):
        lead = lines[i].strip(" *_#\t")
        if not lead.endswith((":", "：")) or not _ARTIFACT.search(lead):
            continue
        if _LIST_ITEM.match(lines[i]) or pos + 1 >= len(filled):
            continue
        j = filled[pos + 1]
        while j < len(lines) and lines[j].strip():
            out.add(j)
            j += 1
    return out


def _letters(lines: list[str], filled: list[int]) -> set[int]:
    """Lines of drafted letters: a salutation line, then up to a sign-off line and the
    short line under it (the name). A salutation without a sign-off marks nothing."""
    out: set[int] = set()
    pos = 0
    while pos < len(filled):
        line = lines[filled[pos]]
        # Cheap gates first (the guard's budget is 1 ms): a salutation is a short line that
        # ends with a comma, colon or "!" ("Hi Sam,"), or a CJK one.
        short = len(line) <= 60 and (
            line.rstrip().endswith((",", "，", ":", "!", "、", "様", "さま", "各位"))
            or line.lstrip().startswith(("尊敬", "亲爱", "您好", "你好", "各位"))
        )
        if short and _SALUTATION.match(line):
            end = next(
                (p for p in range(pos + 1, len(filled)) if _SIGN_OFF.match(lines[filled[p]])),
                None,
            )
            if end is not None:
                name = filled[end] + 1  # the name: the very next line, short, no question
                if (
                    end + 1 < len(filled)
                    and filled[end + 1] == name
                    and len(lines[name].strip()) <= 40
                    and not lines[name].rstrip().endswith(("?", "？"))
                ):
                    end += 1
                out.update(filled[pos : end + 1])
                pos = end + 1
                continue
        pos += 1
    return out


_SENTENCE = re.compile(r".+?(?:[.!?…]+(?=\s|$|[)\"'*_])|[。！？!?]+|$)", re.DOTALL)


@dataclass(slots=True)  # not frozen: built by the thousand, frozen __init__ is slow
class Sentence:
    """One sentence of the answer: its text (masked), span in the original, line role."""

    text: str
    start: int
    end: int
    role: Role
    line: int  # index of its line among the non-empty lines
    paragraph: int  # index of its paragraph (blank-line separated)
    whole_line: bool = False  # the sentence is its line (a heading-like line of its own)

    @property
    def is_question(self) -> bool:
        return self.text.rstrip(" *_)]").endswith(("?", "？")) or self.text.lstrip(
            " *_"
        ).startswith("¿")


def _fill(match: re.Match[str]) -> str:
    # Same length, newlines kept (so line numbers and offsets stay true), no punctuation.
    return "".join("\n" if ch == "\n" else "x" for ch in match.group(0))


def mask(text: str) -> str:
    """``text`` with code, thinking, quotations and block quotes replaced by filler."""
    return "\n".join(mask_line(line) for line in mask_blocks(text).split("\n"))


def mask_blocks(text: str) -> str:
    """Only the passes that span lines: ``<think>`` blocks and fenced code."""
    # Each pass only when its marker is present: most answers have neither, and the
    # guard's budget is 1 ms.
    if "<think>" in text or "<THINK>" in text:
        text = _THINK.sub(_fill, text)
    if "```" in text or "~~~" in text:
        text = _FENCE.sub(_fill, text)
    return text


def mask_line(line: str) -> str:
    """The passes within one line: inline code, a block quote, quotations, code ``?``."""
    if "`" in line:
        line = _INLINE_CODE.sub(_fill, line)
    if ">" in line:
        line = _BLOCKQUOTE.sub(_fill, line)
    if any(q in line for q in _QUOTE_OPENERS):
        line = _QUOTES.sub(_fill, line)
    if "?" in line:
        line = _mask_code_question_marks(line)
    return line


_QUOTE_OPENERS = ('"', "“", "„", "«", "»", "「", "『", "‘", "'")


def _mask_code_question_marks(text: str) -> str:
    """Question marks that are code, not questions: ``??``, ``?.``, ``?:``, ``(?``, and a
    placeholder after ``=``, ``,``, ``(``, ``<``, ``>`` (SQL ``WHERE id = ?``)."""
    chars: list[str] | None = None
    n = len(text)
    i = text.find("?")
    while i >= 0:
        nxt = text[i + 1] if i + 1 < n else ""
        prev = text[i - 1] if i else ""
        before = text[:i].rstrip(" ")[-1:]
        code = (
            nxt in ("?", ":")
            or prev in ("?", "(")
            or (nxt == "." and i + 2 < n and (text[i + 2].isalnum() or text[i + 2] == "_"))
            or before in ("=", ",", "(", "<", ">")
        )
        if code:
            if chars is None:
                chars = list(text)
            chars[i] = "x"
        i = text.find("?", i + 1)
    return text if chars is None else "".join(chars)


def _label_of(line: str) -> str | None:
    """The label of a ``Label: content`` line (a lead-in ending with the colon has none)."""
    m = _LABEL.match(line)
    if m is None or not line[m.end() :].strip(" *_"):
        return None
    return (m.group("label") or m.group("qa")).strip().lower()


def _material_labels(lines: list[str], filled: list[int], keep: set[int]) -> set[int]:
    """Which of the ``keep`` lines are labelled material: a known label (``Q:``,
    ``English:``), or one of two or more labelled lines in a row (a dialogue, a glossary,
    a translation table). ``filled`` lists the non-empty lines in order."""
    out: set[int] = set()
    position = {i: pos for pos, i in enumerate(filled)}
    cache: dict[int, str | None] = {}

    def label(i: int) -> str | None:
        if i not in cache:
            lb = _label_of(lines[i])
            cache[i] = None if lb in _PROSE_LABELS else lb
        return cache[i]

    for i in keep:
        lb = label(i)
        if lb is None:
            continue
        pos = position[i]
        neighbours = [filled[p] for p in (pos - 1, pos + 1) if 0 <= p < len(filled)]
        if lb in _MATERIAL_LABELS or any(label(j) is not None for j in neighbours):
            out.add(i)
    return out


def sentences(masked: str, window: tuple[int, int] | None = None) -> list[Sentence]:
    """Cut the answer (``mask_blocks`` applied; lines are masked here) into sentences,
    each with the role of its line.

    ``window=(head, tail)`` reads only the first ``head`` and last ``tail`` non-empty lines
    (the opening and the closing of a long answer), so the cost stays flat in its length.
    """
    lines = masked.split("\n")
    filled = [i for i, raw in enumerate(lines) if raw.strip()]
    if window is not None and len(filled) > window[0] + window[1]:
        keep = set(filled[: window[0]] + filled[-window[1] :])
    else:
        keep = set(filled)
    for i in keep:
        lines[i] = mask_line(lines[i])
    starts: list[int] = []
    offset = 0
    for raw in lines:
        starts.append(offset)
        offset += len(raw) + 1
    labelled = _material_labels(lines, filled, keep)
    drafts = _letters(lines, filled) | _presented(lines, filled)
    last_content = max((i for i in filled if lines[i].strip(" x\t")), default=-1)
    out: list[Sentence] = []
    paragraph = 0
    line_no = -1
    for i, raw in enumerate(lines):
        if not raw.strip():
            paragraph += 1
            continue
        line_no += 1
        if i not in keep:
            continue
        start = starts[i]
        role: Role = "prose"
        if i in drafts:
            role = "draft"
        elif i < last_content and _HEADING.match(raw):
            role = "heading"
        elif _LIST_ITEM.match(raw):
            role = "list"
        elif i in labelled:
            role = "label"
        whole = raw.strip(" *_#\t")
        for m in _SENTENCE.finditer(raw):
            piece = m.group(0)
            if not piece.strip(" x\t*_#>-"):
                continue
            lead = len(piece) - len(piece.lstrip())
            out.append(
                Sentence(
                    text=piece.strip(),
                    start=start + m.start() + lead,
                    end=start + m.start() + len(piece.rstrip()),
                    role=role,
                    line=line_no,
                    paragraph=paragraph,
                    whole_line=piece.strip(" *_#\t") == whole,
                )
            )
    return out


_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[a-zà-öø-ÿœ]+")
_STOPWORDS = {
    "en": set("the and is are to of it you this that for with i have be not can will".split()),
    "es": set("el los las que y es por para con del se lo está qué pero como muy su usted".split()),
    "fr": set("le les des est et pour une vous du dans pas je ce sur au avec qui sont".split()),
    "de": set("der die das und ist nicht ich ein eine zu mit den dem für auf wir es sie".split()),
    "pt": set("o os que e é para com um uma não do da você em no na eu se seu sua".split()),
}


def detect_language(masked: str) -> list[str]:
    """The answer's likely languages, best first: scripts first, then stop-word counts.

    A short Latin-script answer gives too few stop words to tell Spanish from Portuguese,
    so below three hits every Latin-script language is a candidate.
    """
    if _KANA.search(masked):
        return ["ja", "en"]
    if _HAN.search(masked):
        return ["zh", "en"]
    counts = dict.fromkeys(_STOPWORDS, 0)
    for word in _WORD.findall(masked.lower()):
        for lang, words in _STOPWORDS.items():
            if word in words:
                counts[lang] += 1
    ranked = sorted(counts, key=lambda k: -counts[k])
    if counts[ranked[0]] < 3:
        return ["en", *(k for k in ranked if k != "en")] if not counts[ranked[0]] else ranked
    return [ranked[0], "en"] if ranked[0] != "en" else ["en"]
