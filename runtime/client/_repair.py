"""Turn a raw answer into validated tool calls, repairing what the server's parser missed.

Order of attempts (the first that gives valid calls wins):

1. the server's own ``tool_calls``, with small fixes to what its parser produced
   (arguments double-encoded as a JSON string, junk or a repeat after the JSON object,
   a name sent twice) -> ``repair="parser"`` when a fix was needed;
2. calls the model wrote as text in its content or reasoning, in the formats of the common
   chat templates: Hermes/Qwen ``<tool_call>{...}</tool_call>``, Mistral
   ``[TOOL_CALLS] [{...}]`` and ``[TOOL_CALLS]name[ARGS]{...}``, Llama ``<|python_tag|>``
   with ``parameters``, and bare ``{"name": ..., "arguments": ...}`` JSON (also in code
   fences or lists) -> ``repair="content"``;
3. otherwise the caller retries once with ``response_format`` (see ``constrained_schema``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from runtime.client._assemble import RawAnswer, RawCall
from runtime.client._schema import argument_problem

# Lenient about raw control characters (a tab, a form feed) inside strings: models write
# them, and grammar-constrained decoding lets them through (xgrammar's JSON strings exclude
# only '"', '\\' and line breaks); a strict parse would lose an otherwise valid call.
_DECODER = json.JSONDecoder(strict=False)
# Markers that a chat template uses to start a tool call; seeing one in the text means the
# model tried to call a tool even when nothing could be parsed out of it.
_MARKERS = ("<tool_call>", "[TOOL_CALLS]", "<|python_tag|>", "<function=", "<tool_calls>")
_STRIP_TOKENS = re.compile(
    r"</?tool_call>|</?tool_calls>|\[TOOL_CALLS\]|<\|python_tag\|>|<\|eom_id\|>|<\|eot_id\|>"
    r"|```(?:json)?"
)
_MISTRAL_NAMED = re.compile(
    r"\[TOOL_CALLS\]\s*([A-Za-z0-9_.\-]+)\s*(?:\[CALL_ID\]\s*[A-Za-z0-9_\-]+\s*)?\[ARGS\]"
)


@dataclass(frozen=True)
class Candidate:
    """A tool call with parsed arguments, not yet checked against the schema."""

    id: str | None
    name: str
    arguments: Any
    fixed: bool = False  # a parser-level fix was needed


@dataclass
class Resolution:
    """The outcome of resolving one answer."""

    calls: list[Candidate] = field(default_factory=list)
    repair: str | None = None
    problems: list[str] = field(default_factory=list)
    content: str | None = None  # the content with extracted calls cut out
    reasoning: str | None = None
    attempted: bool = False  # the model visibly tried to call a tool


def parse_arguments(raw: Any) -> tuple[Any, bool]:
    """Arguments as a Python value, and whether a fix was needed. ``(None, True)`` when
    nothing usable is there. Empty arguments mean a call without parameters."""
    if isinstance(raw, dict):
        return raw, False
    if raw is None:
        return {}, False
    if not isinstance(raw, str):
        return None, True
    text = raw.strip()
    if not text:
        return {}, False
    try:
        value = json.loads(text)
        fixed = False
    except ValueError:
        value, fixed = _first_json(text), True
    if isinstance(value, str):  # double-encoded: "{\"city\": \"Paris\"}"
        inner, _ = parse_arguments(value)
        return (inner, True) if isinstance(inner, dict) else (None, True)
    return (value, fixed) if isinstance(value, dict) else (None, True)


def _first_json(text: str) -> Any:
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = _DECODER.raw_decode(text, start)
    except ValueError:
        return None
    return value


def fix_name(name: str, offered: dict[str, Any]) -> tuple[str, bool]:
    """Undo a name sent whole in every delta (``get_timeget_time``)."""
    name = name.strip()
    if not offered or name in offered:
        return name, False
    for known in offered:
        if len(name) % len(known) == 0 and name == known * (len(name) // len(known)):
            return known, True
    return name, False


def resolve(answer: RawAnswer, offered: dict[str, dict[str, Any]], tool_choice: Any) -> Resolution:
    """Validated calls from ``answer`` (see the module docstring for the order)."""
    res = Resolution(content=answer.content, reasoning=answer.reasoning)
    if answer.calls:
        res.attempted = True
        res.calls = [_from_raw(call, offered) for call in answer.calls]
        if any(c.fixed for c in res.calls):
            res.repair = "parser"
    elif offered and tool_choice != "none":
        # Reasoning counts only when there is no answer: a model that thought about a call
        # and then answered in words has answered, and must not be forced into a call.
        sources = ("content",) if (answer.content or "").strip() else ("content", "reasoning")
        for source in sources:
            text = getattr(answer, source)
            if not text:
                continue
            calls, rest = extract_calls(text, offered)
            if calls:
                res.calls, res.repair, res.attempted = calls, "content", True
                setattr(res, source, rest)
                break
            if _mentions_call(text, offered):
                res.attempted = True
    res.problems = [p for c in res.calls if (p := problem(c, offered))]
    return res


def _mentions_call(text: str, offered: dict[str, Any]) -> bool:
    if any(marker in text for marker in _MARKERS):
        return True
    return ('"arguments"' in text or '"parameters"' in text) and any(
        f'"{name}"' in text for name in offered
    )


def problem(call: Candidate, offered: dict[str, dict[str, Any]]) -> str | None:
    """Why ``call`` cannot be used, in one line; ``None`` when it can."""
    if not call.name:
        return "a tool call without a name"
    if offered and call.name not in offered:
        return f"unknown tool {call.name!r} (offered: {', '.join(sorted(offered)[:8])})"
    if not isinstance(call.arguments, dict):
        return f"{call.name}: the arguments are not a JSON object"
    schema = offered.get(call.name)
    return argument_problem(call.name, call.arguments, schema) if schema else None


def _from_raw(call: RawCall, offered: dict[str, Any]) -> Candidate:
    name, name_fixed = fix_name(call.name, offered)
    arguments, args_fixed = parse_arguments(call.arguments)
    return Candidate(call.id, name, arguments, fixed=name_fixed or args_fixed)


def extract_calls(text: str, offered: dict[str, Any]) -> tuple[list[Candidate], str | None]:
    """Tool calls of offered tools written as text, and the text with them cut out
    (``None`` when nothing else is left)."""
    calls: list[Candidate] = []
    spans: list[tuple[int, int]] = []
    for match in _MISTRAL_NAMED.finditer(text):
        name, _ = fix_name(match.group(1), offered)
        try:
            value, end = _DECODER.raw_decode(text, _skip_space(text, match.end()))
        except ValueError:
            continue
        if name in offered and isinstance(value, dict):
            calls.append(Candidate(None, name, value))
            spans.append((match.start(), end))
    if not calls and ('"name"' in text or "'name'" in text or "<tool_call>" in text):
        calls, spans = _scan_json(text, offered)
    if not calls:
        return [], text
    rest, last = [], 0
    for start, end in spans:
        rest.append(text[last:start])
        last = end
    rest.append(text[last:])
    remaining = _STRIP_TOKENS.sub("", "".join(rest)).strip()
    return calls, remaining or None


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _scan_json(text: str, offered: dict[str, Any]) -> tuple[list[Candidate], list[tuple[int, int]]]:
    """Every JSON value in ``text`` that is a call (or a list of calls) of an offered tool."""
    calls: list[Candidate] = []
    spans: list[tuple[int, int]] = []
    i = 0
    while True:
        starts = [p for p in (text.find("{", i), text.find("[", i)) if p >= 0]
        if not starts:
            break
        start = min(starts)
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            i = start + 1
            continue
        found = _calls_in(value, offered)
        if found:
            calls.extend(found)
            spans.append((start, end))
            i = end
        else:
            i = start + 1  # a JSON value that is not a call may still contain one
    return calls, spans


def _calls_in(value: Any, offered: dict[str, Any]) -> list[Candidate]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if not isinstance(item, dict):
            return []
        if isinstance(item.get("function"), dict):  # OpenAI-shaped {"function": {...}}
            item = {**item["function"], "id": item.get("id")}
        name = item.get("name")
        if not isinstance(name, str):
            return []
        name, _ = fix_name(name, offered)
        if name not in offered:
            return []
        raw = item.get("arguments", item.get("parameters", {}))
        arguments, _ = parse_arguments(raw)
        call_id = item.get("id") if isinstance(item.get("id"), str) else None
        out.append(Candidate(call_id, name, arguments))
    return out
