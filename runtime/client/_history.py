"""Normalise a chat history before it goes (back) to a server.

Servers and chat templates are strict where models are sloppy: vLLM rejects arguments that
are not a JSON object string, templates index tool results by call id, and Mistral's wants
each id unique. ``normalize_history`` fixes exactly those things and nothing else; it never
reorders, drops or rewrites text, so the prompt prefix stays byte-identical between turns
(vLLM's prefix cache depends on it) and the ids it makes are derived, not random, so
normalising the same history twice gives the same result.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runtime.client._repair import parse_arguments
from runtime.client._types import ToolCall

_ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 9  # Mistral's templates require exactly 9 alphanumerics; everyone else accepts it


def new_call_id() -> str:
    """A fresh opaque tool-call id."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))


def _derived_id(seed: str, taken: set[str]) -> str:
    salt = 0
    while True:
        digest = hashlib.sha256(f"{seed}#{salt}".encode()).digest()
        candidate = "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:ID_LENGTH])
        if candidate not in taken:
            return candidate
        salt += 1


def arguments_json(arguments: Any) -> str:
    """Arguments as a JSON *object* string.

    A valid object string is kept byte for byte; an object is serialised; empty means
    ``{}``; anything else that cannot be read as an object is kept under ``"_raw"`` so the
    model can still see what it sent.
    """
    if isinstance(arguments, str):
        try:
            if isinstance(json.loads(arguments), dict):
                return arguments
        except ValueError:
            pass
    value, _ = parse_arguments(arguments)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps({"_raw": arguments}, ensure_ascii=False, default=str)


_CALL_KEYS = frozenset({"id", "type", "function", "name", "arguments"})


@dataclass
class _Pending:
    original: Any
    new: str
    name: str
    answered: bool = False


def normalize_history(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A normalised copy of ``messages`` (the input is not modified).

    - assistant tool calls: ``type: function``, ``arguments`` a JSON object string, and an
      id that is a non-empty string unique in the history (missing or repeated ids are
      replaced by derived 9-character ids); an empty ``tool_calls`` list is dropped;
    - tool messages: ``tool_call_id`` follows a replaced id (the n-th result naming a
      repeated id goes to the n-th call with it); a missing one is matched by tool name,
      else to the first unanswered call; non-string content is JSON-encoded.
    ``ToolCall`` objects are accepted in ``tool_calls``.
    """
    out: list[dict[str, Any]] = []
    taken: set[str] = set()
    pending: list[_Pending] = []
    for position, original in enumerate(messages):
        message = dict(original)
        role = message.get("role")
        if role == "assistant":
            if message.get("tool_calls"):
                pending = []
                message["tool_calls"] = [
                    _call(position, i, call, taken, pending)
                    for i, call in enumerate(message["tool_calls"])
                ]
            else:
                message.pop("tool_calls", None)
                if message.get("content") is None:
                    message["content"] = ""
        elif role == "tool":
            _link_result(message, pending)
            content = message.get("content")
            if content is None:
                message["content"] = ""
            elif not isinstance(content, str | list):
                message["content"] = json.dumps(content, ensure_ascii=False, default=str)
        out.append(message)
    return out


def _call(
    position: int, index: int, call: Any, taken: set[str], pending: list[_Pending]
) -> dict[str, Any]:
    if isinstance(call, ToolCall):
        call = call.as_dict()
    call = dict(call) if isinstance(call, Mapping) else {}
    fn = call.get("function") if isinstance(call.get("function"), Mapping) else call
    name = fn.get("name") if isinstance(fn.get("name"), str) else ""
    args = arguments_json(fn.get("arguments"))
    call_id = call.get("id")
    if isinstance(call_id, str) and call_id.strip() and call_id not in taken:
        new = call_id
    else:
        new = _derived_id(f"{position}:{index}:{name}:{args}", taken)
    taken.add(new)
    pending.append(_Pending(call_id, new, name))
    extra = {k: v for k, v in call.items() if k not in _CALL_KEYS}
    return {**extra, "id": new, "type": "function", "function": {"name": name, "arguments": args}}


def _link_result(message: dict[str, Any], pending: list[_Pending]) -> None:
    open_calls = [p for p in pending if not p.answered]
    if not open_calls:
        return
    ref = message.get("tool_call_id")
    match = None
    if isinstance(ref, str) and ref:
        match = next((p for p in open_calls if p.original == ref), None)
        match = match or next((p for p in open_calls if p.new == ref), None)
    if match is None and not (isinstance(ref, str) and ref):
        name = message.get("name")
        match = next((p for p in open_calls if name and p.name == name), open_calls[0])
    if match is not None:
        match.answered = True
        message["tool_call_id"] = match.new
