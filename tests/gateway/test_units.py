"""Small pure parts of the gateway: loopback detection, secret redaction, the audit file."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from runtime.gateway import is_loopback
from runtime.gateway._audit import REDACTED, AuditLog, Redactor


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_redactor_hides_known_values_and_credential_keys() -> None:
    redactor = Redactor(["s3cr3t-value", "abc"])  # too short to be redacted on its own
    args = {
        "query": "use s3cr3t-value here",
        "api_key": "whatever",
        "nested": {"Authorization": "Bearer x", "items": ["s3cr3t-value", 3]},
        "password": "",
        "count": 3,
    }
    assert redactor.value(args) == {
        "query": f"use {REDACTED} here",
        "api_key": REDACTED,
        "nested": {"Authorization": REDACTED, "items": [REDACTED, 3]},
        "password": "",
        "count": 3,
    }
    assert redactor.text("abc") == "abc"


def test_audit_log_is_private_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "audit.jsonl"
    log = AuditLog(path, log_args=False, redactor=Redactor(["tok-123456"]))
    log.record(
        client="c/1",
        tool="t__x",
        server="t",
        started=time.perf_counter(),
        ok=False,
        error="failed with tok-123456\nsecond line",
        arguments={"a": 1},
    )
    log.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    (entry,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert entry["error"] == f"failed with {REDACTED}" and "arguments" not in entry
    assert entry["ok"] is False and entry["tool"] == "t__x"


@pytest.mark.parametrize(
    ("argv", "fields"),
    [
        (["tool", "serve"], {}),
        (
            ["tool", "serve", "-t", "work", "--no-audit", "-C", "/p", "--transport", "stdio"],
            {"toolset": "work", "no_audit": True, "project": Path("/p")},
        ),
        (
            ["tool", "serve", "--toolset", "w", "--log-args", "--audit-log", "a.jsonl"],
            {"toolset": "w", "log_args": True, "audit_log": Path("a.jsonl")},
        ),
        (
            ["tool", "run", "alpha", "--call-timeout", "2.5", "--startup-timeout", "9"],
            {"tool": "alpha", "call_timeout": 2.5, "startup_timeout": 9.0},
        ),
        (["tool", "run", "-C", "/p", "alpha"], {"tool": "alpha", "project": Path("/p")}),
        # Everything else is the full CLI's: help, HTTP, --x=y, bad numbers, repeats, typos.
        (["tool", "serve", "--help"], None),
        (["tool", "serve", "--transport", "streamable-http"], None),
        (["tool", "serve", "--port", "1"], None),
        (["tool", "serve", "--toolset=work"], None),
        (["tool", "serve", "--call-timeout", "soon"], None),
        (["tool", "serve", "-t", "a", "-t", "b"], None),
        (["tool", "serve", "-t"], None),
        (["tool", "serve", "extra"], None),
        (["tool", "run"], None),
        (["tool", "run", "a", "b"], None),
        (["tool", "run", "a", "--toolset", "w"], None),
        (["tool", "sync"], None),
        (["--debug", "tool", "serve"], None),
    ],
)
def test_fast_command_line(argv: list[str], fields: dict[str, Any] | None) -> None:
    from runtime.gateway.launch import _parse

    assert _parse(argv) == fields


def test_jsonrpc_versions_match_the_sdk() -> None:
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

    from runtime.gateway import _jsonrpc

    assert _jsonrpc.HANDSHAKE_VERSIONS == HANDSHAKE_PROTOCOL_VERSIONS


def test_jsonrpc_lines_are_utf8_even_with_lone_surrogates() -> None:
    from runtime.gateway._jsonrpc import encode

    assert encode({"t": "é"}) == '{"t":"é"}\n'.encode()
    line = encode({"t": json.loads('"\\ud800"')})  # valid JSON, not encodable as UTF-8
    assert line == b'{"t":"\\ud800"}\n' and json.loads(line) == {"t": "\ud800"}


def test_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    from runtime.gateway._version import mgx_version

    assert mgx_version() == version("mgx")
