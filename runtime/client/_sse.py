"""Server-sent events: turn the bytes of a streamed response into ``data`` payloads.

A plain incremental decoder, fed whatever the network read returned: one read usually
holds many events, and handling them in a loop instead of through layers of async line
iterators is most of the client's per-step CPU saving (see docs/benchmarks.md).
"""

from __future__ import annotations

import json


class SSEDecoder:
    """Feed it bytes; it returns the ``data`` payloads of the events they complete.

    Follows the SSE rules (``data:`` lines of one event are joined by newlines, a blank
    line ends the event, ``:`` lines are comments such as keep-alive pings, ``event:``/
    ``id:``/``retry:`` are ignored; lines end in LF, CRLF or CR) with one tolerance: some
    servers forget the blank line between events, so a new ``data:`` line after a payload
    that is already complete JSON (or ``[DONE]``) starts a new event.
    """

    def __init__(self) -> None:
        self._tail = b""
        self._data: list[str] = []

    def feed(self, raw: bytes) -> list[str]:
        """Payloads completed by ``raw``."""
        text = self._tail + raw
        hold = b""
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n")
            if text.endswith(b"\r"):  # maybe the first half of a CRLF: decide on the next read
                text, hold = text[:-1], b"\r"
            text = text.replace(b"\r", b"\n")
        lines = text.split(b"\n")
        self._tail = lines.pop() + hold
        out: list[str] = []
        for line in lines:
            self._line(line.decode("utf-8", "replace"), out)
        return out

    def close(self) -> list[str]:
        """Payloads left when the stream ends (a last event without its blank line)."""
        out: list[str] = []
        tail = self._tail.rstrip(b"\r")
        if tail:
            self._line(tail.decode("utf-8", "replace"), out)
            self._tail = b""
        if self._data:
            out.append("\n".join(self._data))
            self._data = []
        return out

    def _line(self, line: str, out: list[str]) -> None:
        if not line:
            if self._data:
                out.append("\n".join(self._data))
                self._data = []
            return
        if line[0] == ":":
            return
        name, _, value = line.partition(":")
        if name != "data":
            return
        if value.startswith(" "):
            value = value[1:]
        if self._data and _complete("\n".join(self._data)):
            out.append("\n".join(self._data))
            self._data = []
        self._data.append(value)


def _complete(payload: str) -> bool:
    if payload == "[DONE]":
        return True
    try:
        json.loads(payload)
    except ValueError:
        return False
    return True
