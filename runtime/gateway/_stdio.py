"""MCP over the process's stdin/stdout on asyncio pipes (no thread per line).

The SDK's ``stdio_server`` reads and writes through ``anyio.wrap_file``: every line read and
every write is a hand-off to a worker thread, which costs the gateway a few milliseconds per
call on a busy machine, more than the rest of the hop. The gateway serves the same JSON-RPC
lines with asyncio pipe transports instead, and keeps the SDK's safety: while serving, fd 0
reads the null device and fd 1 points at stderr, so nothing a child or a stray write puts
there can corrupt the wire. When stdin is not a pipe, socket or terminal (a regular file),
the SDK's transport is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["stdio_streams"]

_LINE_LIMIT = 64 * 1024 * 1024  # one JSON-RPC message per line; tool results can be large


@contextlib.asynccontextmanager
async def stdio_streams() -> AsyncIterator[tuple[Any, Any]]:
    """``(read_stream, write_stream)`` for ``Server.run``, like the SDK's ``stdio_server``."""
    loop = asyncio.get_running_loop()
    private_in, private_out = os.dup(0), os.dup(1)
    reader = asyncio.StreamReader(limit=_LINE_LIMIT, loop=loop)
    rfile = os.fdopen(private_in, "rb", buffering=0)
    wfile = os.fdopen(private_out, "wb", buffering=0)
    try:
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader, loop=loop), rfile
        )
        write_transport, write_protocol = await loop.connect_write_pipe(
            lambda: asyncio.streams.FlowControlMixin(loop=loop), wfile
        )
    except (ValueError, OSError):  # not a pipe/socket/tty: fall back to the SDK's threads
        rfile.close()
        wfile.close()
        from mcp.server.stdio import stdio_server

        async with stdio_server() as streams:
            yield streams
        return
    writer = asyncio.StreamWriter(write_transport, write_protocol, reader, loop)
    saved = _divert()
    try:
        async with _pump(reader, writer) as streams:
            yield streams
    finally:
        _restore(saved)
        read_transport.close()
        write_transport.close()


def _divert() -> tuple[int, int]:
    """Point fd 0 at the null device and fd 1 at stderr; returns the originals."""
    saved = (os.dup(0), os.dup(1))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return saved


def _restore(saved: tuple[int, int]) -> None:
    for fd, original in zip((0, 1), saved, strict=True):
        with contextlib.suppress(OSError):
            os.dup2(original, fd)
        os.close(original)


@contextlib.asynccontextmanager
async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> AsyncIterator[tuple[Any, Any]]:
    import anyio
    import mcp_types as types
    from mcp.shared._context_streams import create_context_streams
    from mcp.shared.message import SessionMessage

    read_writer, read_stream = create_context_streams[SessionMessage | Exception](0)
    write_stream, write_reader = create_context_streams[SessionMessage](0)

    async def read_lines() -> None:
        async with read_writer:
            while line := await reader.readline():
                if not line.strip():
                    continue
                try:
                    message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                except Exception as exc:  # a malformed line is answered, not fatal
                    await read_writer.send(exc)
                    continue
                await read_writer.send(SessionMessage(message))

    async def write_lines() -> None:
        async with write_reader:
            async for session_message in write_reader:
                data = session_message.message.model_dump_json(by_alias=True, exclude_unset=True)
                writer.write(data.encode() + b"\n")
                await writer.drain()

    async with anyio.create_task_group() as tg:
        tg.start_soon(read_lines)
        tg.start_soon(write_lines)
        yield read_stream, write_stream
