"""Fixtures for the agent/tool tests: the demo MCP server and helpers to check processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.client import ChatClient
from runtime.tools import ServerSpec, ToolHub
from tests.helpers import free_port
from tests.scripted_llm import ScriptedLLM

DEMO_SERVER = Path(__file__).with_name("mcp_demo_server.py")


def demo_spec(name: str = "demo", *extra: str, env: dict[str, str] | None = None) -> ServerSpec:
    """A stdio ServerSpec running the tests' MCP server under ``name``."""
    return ServerSpec(
        name=name,
        command=(sys.executable, str(DEMO_SERVER), "--name", name, *extra),
        env=env or {},
    )


@pytest.fixture
def http_demo() -> Iterator[str]:
    """The demo server over streamable HTTP on a loopback port; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(DEMO_SERVER), "--name", "remote", "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("demo HTTP server exited early")
                time.sleep(0.1)
        else:
            pytest.fail("demo HTTP server did not listen in 30s")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    """A started scripted OpenAI-compatible server (``llm.add(...)`` script steps)."""
    with ScriptedLLM() as server:
        yield server


def chat(server: ScriptedLLM, **kwargs: Any) -> ChatClient:
    """A client for ``server`` with fast retry backoff (close it, or use ``async with``)."""
    kwargs.setdefault("backoff_s", 0.01)
    kwargs.setdefault("timeout", 60)
    return ChatClient(server.url, "scripted", **kwargs)


@pytest.fixture
async def demo_hub(tmp_path: Path) -> AsyncIterator[ToolHub]:
    """A ToolHub over one demo server (``demo__*`` tools), stopped after the test."""
    async with ToolHub([demo_spec()], log_dir=tmp_path / "tool-logs", call_timeout=30) as hub:
        yield hub
