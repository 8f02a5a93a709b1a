"""OpenAI-compatible tool-calling chat client (httpx, streaming SSE).

Public surface::

    ChatClient          async client for one model at one endpoint (``complete``)
    Completion          one finished answer: content, reasoning, tool calls, usage, timing
    ToolCall            one call with parsed arguments (``as_dict`` gives the wire form)
    Usage               token counts
    normalize_history   make a history safe to send back (ids, JSON arguments)
    chat_endpoint       the ``/chat/completions`` URL for an API root

Internals, one job each: ``_sse`` (event stream), ``_assemble`` (deltas -> answer),
``_repair`` (validate and recover tool calls), ``_schema`` (JSON schema checks and the
constrained-output schema), ``_history`` (normalisation), ``_retry`` (backoff policy).
"""

from __future__ import annotations

from runtime.client._client import ChatClient, chat_endpoint
from runtime.client._history import normalize_history
from runtime.client._types import Completion, RepairKind, ToolCall, Usage

__all__ = [
    "ChatClient",
    "Completion",
    "RepairKind",
    "ToolCall",
    "Usage",
    "chat_endpoint",
    "normalize_history",
]
