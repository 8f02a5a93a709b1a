"""A model's second opinion on a borderline answer: a constrained JSON verdict.

The offline detector decides on its own everywhere; a judge is consulted only on the
borderline cases it cannot settle from structure (``_guard``): a finding made only of weak
signals (a closing question, "please choose", an unconditioned offer), or a closing question
it let pass as rhetorical. The verdict is ``{"asks_user": bool, "quote": str}``, constrained
by ``response_format: json_schema``. Anything unusable (the endpoint fails, the reply is not
the JSON asked for, a quote that is not in the answer) gives ``None``, and the offline
verdict stands.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runtime.errors import MgxRuntimeError
from runtime.prompts import JUDGE_INSTRUCTIONS

if TYPE_CHECKING:
    from runtime.agent import ChatModel

__all__ = ["Judge", "Verdict", "model_judge"]


@dataclass(frozen=True)
class Verdict:
    """The model's verdict on one answer."""

    asks_user: bool
    quote: str

    def to_json(self) -> dict[str, object]:
        return {"asks_user": self.asks_user, "quote": self.quote}


Judge = Callable[[str], Awaitable["Verdict | None"]]

_SCHEMA: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "autonomy_verdict",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"asks_user": {"type": "boolean"}, "quote": {"type": "string"}},
            "required": ["asks_user", "quote"],
            "additionalProperties": False,
        },
    },
}


def model_judge(client: ChatModel, *, max_tokens: int = 300) -> Judge:
    """A judge that asks ``client``'s model (usually the endpoint that wrote the answer)."""

    async def judge(text: str) -> Verdict | None:
        messages = [
            {"role": "system", "content": JUDGE_INSTRUCTIONS},
            {"role": "user", "content": f"<answer>\n{text}\n</answer>"},
        ]
        try:
            completion = await client.complete(
                messages, temperature=0.0, max_tokens=max_tokens, extra={"response_format": _SCHEMA}
            )
        except MgxRuntimeError:
            return None
        return parse_verdict(completion.content or "", text)

    return judge


def parse_verdict(raw: str, answer: str) -> Verdict | None:
    """The verdict in ``raw``, or None when it is not the JSON asked for or quotes text
    that is not in ``answer`` (a judge that invents its evidence is not trusted)."""
    try:
        data = json.loads(raw.strip().removeprefix("```json").removesuffix("```").strip())
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("asks_user"), bool):
        return None
    quote = data.get("quote", "")
    if not isinstance(quote, str):
        return None
    quote = quote.strip()
    if data["asks_user"] and (not quote or " ".join(quote.split()) not in " ".join(answer.split())):
        return None
    return Verdict(asks_user=data["asks_user"], quote=quote)
