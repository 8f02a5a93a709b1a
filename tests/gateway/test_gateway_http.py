"""``mgx tool serve --transport streamable-http``: loopback by default, a token off loopback."""

from __future__ import annotations

import subprocess
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import MGX, GwProject, result_text

TOKEN = "gw-bearer-7e3c1a9f55"


async def _client_session(url: str, headers: dict[str, str] | None = None) -> Any:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(30.0))
    return http, Client(streamable_http_client(url, http_client=http))


async def test_http_gateway_lists_and_calls(gw_project: GwProject, start_http: Any) -> None:
    gateway = start_http(gw_project, "--toolset", "work")
    assert gateway.url.startswith("http://127.0.0.1:")  # loopback unless told otherwise
    http, client = await _client_session(gateway.url)
    async with http, client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"alpha__echo", "beta__secret_length"} <= names
        assert "alpha__delete_everything" not in names
        result = await client.call_tool("alpha__add", {"a": 1, "b": 2})
        assert result_text(result) == "3"
    audit = (gw_project.state / "audit.jsonl").read_text()
    assert '"client": "mcp' in audit and "127.0.0.1:" in audit  # client name and address


def test_off_loopback_without_token_is_refused_at_start(gw_project: GwProject) -> None:
    env = {k: v for k, v in gw_project.env.items() if k != "MGX_GATEWAY_TOKEN"}
    done = subprocess.run(
        [*MGX, "tool", "serve", "--transport", "streamable-http", "--host", "0.0.0.0"],
        cwd=gw_project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 (not loopback) without a bearer token" in done.stderr
    assert "MGX_GATEWAY_TOKEN" in done.stderr and len(done.stderr.splitlines()) == 1


async def test_off_loopback_requires_the_bearer_token(
    gw_project: GwProject, start_http: Any
) -> None:
    gateway = start_http(
        gw_project, "--host", "0.0.0.0", "--token-env", "GW_BEARER", env={"GW_BEARER": TOKEN}
    )
    assert "bearer token required" in gateway.ready
    url = gateway.url.replace("0.0.0.0", "127.0.0.1")  # reach the wildcard bind over loopback
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "1"},
        },
    }
    accept = {"Accept": "application/json, text/event-stream"}
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TOKEN}):
        answer = httpx.post(url, json=body, headers={**accept, **headers}, timeout=30)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in answer.text
    http, client = await _client_session(url, {"Authorization": f"Bearer {TOKEN}"})
    async with http, client:
        assert result_text(await client.call_tool("beta__echo", {"text": "authorised"})) == (
            "authorised"
        )
    assert TOKEN not in (gw_project.state / "audit.jsonl").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--transport", "sse"], "--transport must be stdio or streamable-http"),
        (["--toolset", "nope"], "no tool set 'nope'"),
        (["--transport", "streamable-http", "--port", "70000"], "--port must be 0-65535"),
    ],
)
def test_bad_options_are_one_line_errors(
    gw_project: GwProject, args: list[str], message: str
) -> None:
    done = subprocess.run(
        [*MGX, "tool", "serve", *args],
        cwd=gw_project.root,
        env=gw_project.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1
