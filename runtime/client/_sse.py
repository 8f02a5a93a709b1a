"""Server-sent events: turn the lines of a streamed response into ``data`` payloads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator


async def iter_sse_data(lines: AsyncIterable[str]) -> AsyncIterator[str]:
    """Yield the ``data`` payload of each event, in order.

    Follows the SSE rules (``data:`` lines of one event are joined by newlines, a blank line
    ends the event, ``:`` lines are comments such as keep-alive pings, ``event:``/``id:``/
    ``retry:`` are ignored) with one tolerance: some servers forget the blank line between
    events, so a new ``data:`` line after a payload that is already complete JSON (or
    ``[DONE]``) starts a new event instead of being glued onto it.
    """
    buffer: list[str] = []
    async for line in lines:
        if not line:
            if buffer:
                yield "\n".join(buffer)
                buffer = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field != "data":
            continue
        if value.startswith(" "):
            value = value[1:]
        if buffer and _complete("\n".join(buffer)):
            yield "\n".join(buffer)
            buffer = []
        buffer.append(value)
    if buffer:
        yield "\n".join(buffer)


def _complete(payload: str) -> bool:
    if payload == "[DONE]":
        return True
    try:
        json.loads(payload)
    except ValueError:
        return False
    return True
