"""The values the chat client returns: a completion, its tool calls and its token usage."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

RepairKind = Literal["parser", "content", "constrained"]


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asked for, with its arguments already parsed."""

    id: str
    name: str
    arguments: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The OpenAI wire form (``arguments`` as a JSON object string)."""
        return {
            "id": self.id,
            "type": "function",
            "function": {
                "name": self.name,
                "arguments": json.dumps(self.arguments, ensure_ascii=False),
            },
        }


@dataclass(frozen=True)
class Usage:
    """Token counts as the server reported them (zeros when it did not)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )

    @classmethod
    def from_json(cls, raw: Any) -> Usage:
        """Read an OpenAI ``usage`` object; anything malformed counts as zero."""
        if not isinstance(raw, dict):
            return cls()

        def num(key: str) -> int:
            value = raw.get(key)
            return value if isinstance(value, int) and value >= 0 else 0

        prompt, completion = num("prompt_tokens"), num("completion_tokens")
        return cls(prompt, completion, num("total_tokens") or prompt + completion)


@dataclass(frozen=True)
class Completion:
    """One finished answer of the model.

    ``repaired`` is true when the tool calls did not come cleanly out of the server's
    parser; ``repair`` says how they were recovered: ``"parser"`` (the parser's output
    needed fixing, e.g. doubled names or junk after the JSON), ``"content"`` (the calls
    were left as text in the content or reasoning) or ``"constrained"`` (a second request
    constrained by ``response_format`` produced them). ``usage`` and ``latency_s`` cover
    every request made for this completion; ``ttft_s`` is the time to the first token of
    the request whose answer was kept (``None`` when not streamed).
    """

    content: str | None
    reasoning: str | None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    usage: Usage = field(default_factory=Usage)
    repaired: bool = False
    repair: RepairKind | None = None
    latency_s: float = 0.0
    ttft_s: float | None = None
    model: str | None = None

    def as_message(self) -> dict[str, Any]:
        """The assistant message to append to the history (normalised, no reasoning).

        Reasoning is left out on purpose: chat templates drop earlier thinking anyway, and
        sending it back would only cost prompt tokens.
        """
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.as_dict() for call in self.tool_calls]
        elif message["content"] is None:
            message["content"] = ""
        return message
