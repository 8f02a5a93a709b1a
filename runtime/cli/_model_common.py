"""Helpers shared by the `mgx model` command modules (settings, async, progress, formats)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from marketplace.settings import Settings

T = TypeVar("T")


def settings() -> Settings:
    from marketplace.settings import Settings

    return Settings.from_env()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` for a command (one event loop per command).

    Ctrl-C cancels the main task; when a library inside also cancelled (httpx/anyio do),
    ``asyncio.run`` lets CancelledError out instead of KeyboardInterrupt. Both mean "interrupted"
    here, and ``main`` turns that into exit code 130.
    """
    try:
        return asyncio.run(coro)
    except asyncio.CancelledError as exc:
        raise KeyboardInterrupt from exc


@contextmanager
def spinner(message: str, *, enabled: bool) -> Iterator[None]:
    """A rich spinner on stderr while long work runs; off for --json or when not a TTY."""
    if not (enabled and sys.stderr.isatty()):
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


def show_progress(json_output: bool) -> bool:
    return not json_output and sys.stderr.isatty()


def fmt_float(value: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
