"""Assemble a model's answer from streamed deltas (or read it from a whole response).

Servers disagree on the details of streamed tool calls, so the assembler is lenient:
deltas are grouped by ``index``; the id and name may come only in the first delta or be
repeated in every one; a name may be split across deltas; deltas may be empty; and a
server that omits ``index`` is followed by id, then by order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime.client._types import Usage


@dataclass
class RawCall:
    """A tool call as the server sent it, before its arguments are parsed."""

    id: str | None = None
    name: str = ""
    arguments: Any = ""  # str fragments joined, or an object a server sent as-is


@dataclass
class RawAnswer:
    """What one request produced, unvalidated."""

    content: str | None
    reasoning: str | None
    calls: list[RawCall]
    finish_reason: str | None
    usage: Usage
    model: str | None = None


@dataclass
class _Slot:
    id: str | None = None
    name: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    args_obj: Any = None


class StreamAssembler:
    """Feed it each parsed chunk; ``answer()`` gives the assembled result."""

    def __init__(self) -> None:
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._slots: dict[int, _Slot] = {}
        self._last: int | None = None
        self.finish_reason: str | None = None
        self.usage = Usage()
        self.model: str | None = None

    def feed(self, chunk: dict[str, Any]) -> bool:
        """Take one chunk; returns True when it carried output (for time to first token)."""
        if self.model is None and isinstance(chunk.get("model"), str):
            self.model = chunk["model"]
        if chunk.get("usage"):
            self.usage = Usage.from_json(chunk["usage"])
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return False
        choice = choices[0]
        if not isinstance(choice, dict):
            return False
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
        delta = choice.get("delta") or choice.get("message") or {}
        if not isinstance(delta, dict):
            return False
        produced = False
        text = delta.get("content")
        if isinstance(text, str) and text:
            self._content.append(text)
            produced = True
        # vLLM calls it reasoning_content (newer versions: reasoning); accept both.
        thought = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(thought, str) and thought:
            self._reasoning.append(thought)
            produced = True
        for tc in delta.get("tool_calls") or ():
            if isinstance(tc, dict):
                self._feed_call(tc)
                produced = True
        return produced

    def _feed_call(self, tc: dict[str, Any]) -> None:
        fn = _obj(tc.get("function"))
        call_id = _text(tc.get("id")) or None
        name = _text(fn.get("name"))
        args = fn.get("arguments")
        slot = self._slot_for(tc.get("index"), call_id, name)
        if call_id and slot.id is None:
            slot.id = call_id
        if name:
            current = "".join(slot.name)
            # A name equal to what we have is a repeat; a new piece before any arguments is
            # the rest of a name split across deltas; after arguments it can only be noise.
            if not current or (name != current and not slot.args and slot.args_obj is None):
                slot.name.append(name)
        if isinstance(args, str):
            if args:
                slot.args.append(args)
        elif args is not None:
            slot.args_obj = args

    def _slot_for(self, index: Any, call_id: str | None, name: str) -> _Slot:
        if isinstance(index, int) and not isinstance(index, bool):
            slot = self._slots.get(index)
            if slot is None:
                return self._new(index)
            # Same index but a different id *and* a name: a server that numbers every call 0.
            if call_id and slot.id and call_id != slot.id and name and slot.name:
                return self._new(max(self._slots) + 1)
            self._last = index
            return slot
        if call_id:
            for key, slot in self._slots.items():
                if slot.id == call_id:
                    self._last = key
                    return slot
        last = self._slots.get(self._last) if self._last is not None else None
        starts_new = last is None or (
            name and last.name and (call_id or last.args or last.args_obj is not None)
        )
        if starts_new:
            return self._new(max(self._slots, default=-1) + 1)
        assert last is not None
        return last

    def _new(self, index: int) -> _Slot:
        slot = self._slots[index] = _Slot()
        self._last = index
        return slot

    def answer(self) -> RawAnswer:
        """The answer so far; content and reasoning are ``None`` when none came."""
        calls = []
        for key in sorted(self._slots):
            slot = self._slots[key]
            if not slot.name and not slot.args and slot.args_obj is None:
                continue  # only empty deltas arrived for this index
            arguments = slot.args_obj if slot.args_obj is not None else "".join(slot.args)
            calls.append(RawCall(slot.id, "".join(slot.name), arguments))
        return RawAnswer(
            content="".join(self._content) or None,
            reasoning="".join(self._reasoning) or None,
            calls=calls,
            finish_reason=self.finish_reason,
            usage=self.usage,
            model=self.model,
        )


def answer_from_response(body: Any) -> RawAnswer | None:
    """Read a non-streamed ``chat.completion`` body; ``None`` when it has no choice."""
    if not isinstance(body, dict):
        return None
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message")
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    thought = message.get("reasoning_content") or message.get("reasoning")
    calls = []
    for tc in message.get("tool_calls") or ():
        if not isinstance(tc, dict):
            continue
        fn = _obj(tc.get("function"))
        calls.append(
            RawCall(_text(tc.get("id")) or None, _text(fn.get("name")), fn.get("arguments", ""))
        )
    finish = choices[0].get("finish_reason")
    return RawAnswer(
        content=content if isinstance(content, str) and content else None,
        reasoning=thought if isinstance(thought, str) and thought else None,
        calls=calls,
        finish_reason=str(finish) if finish else None,
        usage=Usage.from_json(body.get("usage")),
        model=body.get("model") if isinstance(body.get("model"), str) else None,
    )


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
