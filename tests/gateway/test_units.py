"""Small pure parts of the gateway: loopback detection, secret redaction, the audit file."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

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
