"""check_server against real MCP servers (the tiny SDK server) over stdio and HTTP."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from marketplace.check import acheck_server, check_server
from marketplace.errors import InstallError
from marketplace.installers import LaunchSpec
from tests.helpers import alive, free_port, wait_dead
from tests.installers.conftest import TINY_SERVER


def tiny(*args: str, env: dict[str, str] | None = None, name: str = "tiny") -> LaunchSpec:
    return LaunchSpec(
        command=(sys.executable, str(TINY_SERVER), *args),
        env=env or {},
        cwd=TINY_SERVER.parent,
        name=name,
    )


def test_stdio_server_lists_its_tools_and_is_stopped(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    result = check_server(tiny("--name", "tiny-one", "--pidfile", str(pidfile)), timeout=60)
    assert result.tools == ["argv", "echo", "env_names"]
    assert result.server_name == "tiny-one"
    assert wait_dead([int(pidfile.read_text())], timeout=20.0) == [], (
        "the server outlived the check"
    )


def test_declared_env_reaches_the_server() -> None:
    result = check_server(
        tiny("--require-env", "TINY_TOKEN", env={"TINY_TOKEN": "s3cr3t-value"}), timeout=60
    )
    assert "echo" in result.tools
    with pytest.raises(InstallError, match="TINY_TOKEN is not set"):
        check_server(tiny("--require-env", "TINY_TOKEN"), timeout=60)


def test_failing_server_reports_its_stderr() -> None:
    with pytest.raises(InstallError) as info:
        check_server(tiny("--fail-start"), timeout=60)
    message = str(info.value)
    assert "configuration file missing" in message
    assert "\n" not in message


def test_hanging_server_times_out_and_leaves_no_process(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    with pytest.raises(InstallError) as info:
        check_server(tiny("--hang", "--pidfile", str(pidfile)), timeout=3)
    assert time.monotonic() - started < 30
    assert "did not start within 3s" in str(info.value)
    assert "hanging before serving" in str(info.value)
    pid = int(pidfile.read_text())
    assert wait_dead([pid], timeout=20.0) == [], (
        f"server {pid} is still running after the failed check"
    )


def test_missing_command_is_an_install_error() -> None:
    with pytest.raises(InstallError, match="failed to start"):
        check_server(LaunchSpec(command=("/nonexistent/mgx-server",), name="ghost"), timeout=10)


def test_remote_streamable_http(http_tiny: str) -> None:
    spec = LaunchSpec(transport="streamable-http", url=http_tiny, headers={"X-Test": "1"})
    result = check_server(spec, timeout=60)
    assert result.server_name == "remote-tiny"
    assert "echo" in result.tools


def test_package_serving_http_is_started_and_stopped(tmp_path: Path) -> None:
    port = free_port()
    pidfile = tmp_path / "pid"
    spec = LaunchSpec(
        command=(sys.executable, str(TINY_SERVER), "--http", str(port), "--pidfile", str(pidfile)),
        transport="streamable-http",
        url=f"http://127.0.0.1:{port}/mcp",
        name="local-http",
    )
    result = check_server(spec, timeout=60)
    assert "echo" in result.tools
    pid = int(pidfile.read_text())
    assert wait_dead([pid], timeout=20.0) == []
    assert not alive(pid)


async def test_async_variant_inside_a_running_loop() -> None:
    result = await acheck_server(tiny(), timeout=60)
    assert "argv" in result.tools


def test_launch_spec_repr_hides_secret_values() -> None:
    spec = tiny(env={"API_KEY": "hunter2-secret"})
    assert "hunter2-secret" not in repr(spec)


def test_package_serving_http_that_exits_before_listening(tmp_path: Path) -> None:
    port = free_port()
    spec = LaunchSpec(
        command=(sys.executable, str(TINY_SERVER), "--fail-start", "--http", str(port)),
        transport="streamable-http",
        url=f"http://127.0.0.1:{port}/mcp",
        name="local-http",
    )
    with pytest.raises(InstallError) as info:
        check_server(spec, timeout=60)
    message = str(info.value)
    assert message.startswith("local-http exited with status 2 before listening")
    assert "configuration file missing" in message  # the server's last stderr line
    assert "\n" not in message
