"""The workflow tools every coordinating agent gets next to its MCP tools.

``new_answer(content)`` and ``vote(agent_id, reason)`` are ordinary OpenAI function tools,
so they travel the normal tool-call path (the client's repair and constrained retry apply)
and need no server feature beyond tool calling. ``vote``'s ``agent_id`` is an enum of the
current answer holders; with no answers yet only ``new_answer`` is offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from runtime.prompts import NEW_ANSWER_DESCRIPTION, VOTE_DESCRIPTION

NEW_ANSWER = "new_answer"
VOTE = "vote"
WORKFLOW_TOOLS = frozenset({NEW_ANSWER, VOTE})


@dataclass(frozen=True, kw_only=True)
class WorkflowCall:
    """A valid workflow call: a new answer (``content``) or a vote (``choice``, ``reason``)."""

    kind: Literal["new_answer", "vote"]
    content: str = ""
    choice: str = ""
    reason: str = ""


# A vote's reason is one sentence; bounding it also bounds what constrained decoding may
# generate for it (a runaway string would otherwise end only at max_tokens).
REASON_MAX_CHARS = 300


def workflow_tools(
    holders: Sequence[str], *, max_answer_chars: int | None = None, strict: bool = False
) -> list[dict[str, Any]]:
    """The OpenAI ``tools`` entries for the workflow tools, given the current answer holders.

    ``max_answer_chars`` bounds ``new_answer``'s content in the schema (``maxLength``), which
    servers with constrained decoding enforce while generating.

    ``strict`` marks the tools ``"strict": true`` (with ``additionalProperties: false``, as
    OpenAI's strict mode requires): the request that demands a workflow call sends them so.
    It matters on vLLM: for ``tool_choice: required`` its structural tag constrains the
    arguments of a tool to the tool's schema only when the tool is strict; a non-strict
    tool's arguments are free JSON, which a weak model may never close.
    """
    content: dict[str, Any] = {
        "type": "string",
        "description": "Your complete answer.",
        "minLength": 1,
    }
    if max_answer_chars is not None:
        content["maxLength"] = max_answer_chars
        if strict:
            # A blank answer is refused (read_workflow_call): under constrained decoding the
            # grammar rules it out. xgrammar compiles a pattern instead of the lengths, so
            # the pattern carries the length bound too.
            content["pattern"] = rf"^\S[\s\S]{{0,{max_answer_chars - 1}}}$"
    tools: list[dict[str, Any]] = [
        {
            "type": "function",
            "function": {
                "name": NEW_ANSWER,
                "description": NEW_ANSWER_DESCRIPTION,
                "parameters": {
                    "type": "object",
                    "properties": {"content": content},
                    "required": ["content"],
                },
            },
        }
    ]
    if holders:
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": VOTE,
                    "description": VOTE_DESCRIPTION,
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "agent_id": {
                                "type": "string",
                                "enum": list(holders),
                                "description": "The agent whose answer is best.",
                            },
                            "reason": {
                                "type": "string",
                                "description": "Why, in one sentence.",
                                "maxLength": REASON_MAX_CHARS,
                            },
                        },
                        "required": ["agent_id", "reason"],
                    },
                },
            }
        )
    if strict:
        for tool in tools:
            tool["function"]["strict"] = True
            tool["function"]["parameters"]["additionalProperties"] = False
    return tools


# Generous tokens per character of a bounded string (a JSON escape such as \u00e9 may take
# several tokens for one character) and for the call's fixed part (name, keys, braces).
_TOKENS_PER_CHAR = 2
_CALL_OVERHEAD_TOKENS = 64


def workflow_call_token_bound(
    holders: Sequence[str], *, max_answer_chars: int | None
) -> int | None:
    """Enough tokens for the longest valid workflow call, or ``None`` when ``new_answer``'s
    content is unbounded. A request that demands a workflow call under constrained decoding
    gets at least this ``max_tokens``: the call always fits, and a server default (often the
    whole context) never lets a weak model run on."""
    if max_answer_chars is None:
        return None
    longest = max(max_answer_chars, REASON_MAX_CHARS if holders else 0)
    return _TOKENS_PER_CHAR * longest + _CALL_OVERHEAD_TOKENS


def read_workflow_call(name: str, arguments: Any, holders: Sequence[str]) -> WorkflowCall | str:
    """The call as a ``WorkflowCall``, or the error text the model reads when it is unusable.

    The client already checked the arguments against the schema it was offered; this checks
    again against the *current* holders, which may have changed while the model was thinking.
    """
    args = arguments if isinstance(arguments, dict) else {}
    if name == NEW_ANSWER:
        content = args.get("content")
        if not isinstance(content, str) or not content.strip():
            return "Tool error: new_answer needs a non-empty 'content' string"
        return WorkflowCall(kind="new_answer", content=content.strip())
    choice = args.get("agent_id")
    if not holders:
        return "Tool error: there are no answers to vote for yet; call new_answer"
    if not isinstance(choice, str) or choice not in holders:
        return (
            f"Tool error: vote for one of the current answers: {', '.join(holders)} "
            f"(got {choice!r})"
        )
    reason = args.get("reason")
    return WorkflowCall(kind="vote", choice=choice, reason=str(reason or "").strip())
