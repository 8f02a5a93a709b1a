"""MCP ``CallToolResult`` -> the text of a ``role: tool`` message."""

from __future__ import annotations

import json
from typing import Any

DEFAULT_MAX_CHARS = 20_000


def result_text(result: Any, *, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[str, Any]:
    """Render a CallToolResult: text blocks verbatim, structured content as JSON when there
    is no text, binary content as a short note (a model cannot read base64 images anyway).

    Returns ``(text, structured_content)``; error results are prefixed so the model can tell.
    """
    parts: list[str] = []
    for block in getattr(result, "content", None) or ():
        parts.append(_block_text(block))
    structured = getattr(result, "structured_content", None)
    if structured is not None and not any(parts):
        parts.append(json.dumps(structured, ensure_ascii=False, default=str))
    text = "\n".join(p for p in parts if p) or "(no output)"
    if getattr(result, "is_error", False):
        text = f"Tool error: {text}"
    return truncate(text, max_chars), structured


def truncate(text: str, max_chars: int) -> str:
    """Cut ``text`` to ``max_chars``, saying how much was left out."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}\n[truncated: {len(text) - max_chars} more characters]"


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        size = len(getattr(block, "data", "") or "") * 3 // 4
        return f"[{kind} content: {getattr(block, 'mime_type', '?')}, ~{size} bytes, not shown]"
    if kind == "resource":
        res = block.resource
        text = getattr(res, "text", None)
        if text is not None:
            return f"[resource {res.uri}]\n{text}"
        return f"[binary resource {res.uri} ({getattr(res, 'mime_type', None) or '?'}), not shown]"
    if kind == "resource_link":
        return f"[resource link: {block.uri}]"
    return f"[{kind or 'unknown'} content, not shown]"
