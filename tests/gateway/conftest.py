"""Fixtures for the gateway tests: a project with two locked servers behind ``mgx tool serve``.

The servers are real mcpb bundles (``gw_server.py``, written with the mcp SDK) published to
the project's own registry on loopback and installed through the real resolver, installer
and lock (the lock area's ``World``). ``beta`` needs a secret, bound in ``mgx.toml`` to the
environment variable ``MY_GW_SECRET``; its value must never reach a file.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import re
import subprocess
import zipfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from marketplace import commands
from marketplace.project import find_project
from marketplace.settings import Settings
from tests.lock import conftest as lock_fixtures
from tests.lock.conftest import MGX, World, server_doc

# The lock area's fixtures: a registry on loopback (`world`), a project dir, python on PATH.
world = lock_fixtures.world
settings = lock_fixtures.settings
project_dir = lock_fixtures.project_dir
python_on_path = lock_fixtures.python_on_path

HERE = Path(__file__).resolve().parent
GW_SERVER = HERE / "gw_server.py"
ALPHA = "io.github.test/alpha"
BETA = "io.github.test/beta"
SECRET = "gw-s3cr3t-4b1d9e77"
# The tools of gw_server.py that the tool set `work` admits (its deny hides delete_everything).
SERVER_TOOLS = [
    "add",
    "big",
    "block",
    "block_started",
    "cancelled_seen",
    "crash",
    "echo",
    "fail",
    "freeze",
    "getenv",
    "numbers",
    "pid",
    "progress",
    "release",
    "rich",
    "rpc_error",
    "wait_gate",
]


def gw_bundle(name: str, version: str, *, require_env: str = "") -> bytes:
    """An ``.mcpb`` whose server is ``gw_server.py`` (run by the ``python`` on PATH)."""
    args = ["${__dirname}/server/main.py", "--name", name]
    env = {}
    manifest: dict[str, Any] = {"manifest_version": "0.2", "name": name, "version": version}
    if require_env:
        args += ["--require-env", require_env]
        env[require_env] = "${user_config.token}"
        manifest["user_config"] = {
            "token": {"type": "string", "title": "Token", "sensitive": True, "required": True}
        }
    manifest["server"] = {
        "type": "python",
        "entry_point": "server/main.py",
        "mcp_config": {"command": "python", "args": args, "env": env},
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("server/main.py", GW_SERVER.read_text())
    return buf.getvalue()


def publish_gw(world: World, name: str, version: str = "1.0.0", **kwargs: Any) -> None:
    body = gw_bundle(name.rsplit("/", 1)[-1], version, **kwargs)
    path = f"/{name.replace('/', '_')}-{version}.mcpb"
    world.files.files[path] = body
    package = {
        "registryType": "mcpb",
        "identifier": world.files.url + path,
        "fileSha256": hashlib.sha256(body).hexdigest(),
        "transport": {"type": "stdio"},
    }
    world.docs.append(server_doc(name, version, [package], latest=True))


@dataclass
class GwProject:
    root: Path
    settings: Settings
    env: dict[str, str]  # the environment a client starts the gateway with

    @property
    def state(self) -> Path:
        return self.settings.state_dir / "gateway"


@pytest.fixture
def gw_project(world: World, project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> GwProject:
    """``alpha`` and ``beta`` locked in tool set ``work``, which denies ``*delete*``."""
    publish_gw(world, ALPHA)
    publish_gw(world, BETA, require_env="GW_TOKEN")
    world.serve()
    project = find_project(create=True, settings=world.settings)
    commands.install(project, "alpha", toolset="work")
    commands.install(project, "beta", toolset="work", check=False)
    text = project.manifest_path.read_text()
    text = text.replace(
        '"io.github.test/beta" = "^1.0.0"',
        '"io.github.test/beta" = { version = "^1.0.0", '
        'env = { token = { env = "MY_GW_SECRET" } } }',
    )
    text = re.sub(r"(\[toolsets\.work\]\ntools = \[[^\]]*\])", r'\1\ndeny = ["*delete*"]', text)
    project.manifest_path.write_text(text)
    commands.sync(project)
    monkeypatch.setenv("MY_GW_SECRET", SECRET)
    return GwProject(root=project.root, settings=world.settings, env=dict(os.environ))


def gateway_params(project: GwProject, *args: str) -> Any:
    """``StdioServerParameters`` starting the real ``mgx`` with ``args`` (the test's env)."""
    from mcp.client.stdio import StdioServerParameters

    cwd = project.root.parent if "-C" in args else project.root
    return StdioServerParameters(command=MGX[0], args=[*MGX[1:], *args], env=project.env, cwd=cwd)


@asynccontextmanager
async def stdio_gateway(project: GwProject, *args: str) -> AsyncIterator[Any]:
    """An mcp SDK client connected to ``mgx <args>`` over stdio; yields the client."""
    from mcp import Client
    from mcp.client.stdio import stdio_client

    errlog = project.root / "gateway-stderr.log"
    with errlog.open("a") as err:
        async with Client(stdio_client(gateway_params(project, *args), errlog=err)) as client:
            yield client


@dataclass
class HttpGateway:
    proc: subprocess.Popen[str]
    url: str
    ready: str


@pytest.fixture
def start_http() -> Iterator[Any]:
    """Start ``mgx tool serve --transport streamable-http`` and wait for its ready line."""
    procs: list[subprocess.Popen[str]] = []

    def start(project: GwProject, *args: str, env: dict[str, str] | None = None) -> HttpGateway:
        proc = subprocess.Popen(
            [*MGX, "tool", "serve", "--transport", "streamable-http", "--port", "0", *args],
            cwd=project.root,
            env={**project.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stderr is not None
        for line in proc.stderr:  # synchronise on the ready line, not on time
            match = re.search(r"gateway ready at (http://\S+/mcp)", line)
            if match:
                return HttpGateway(proc=proc, url=match.group(1), ready=line)
        proc.wait(30)
        raise AssertionError(f"gateway exited with {proc.returncode} before it was ready")

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()


def result_text(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


class RawGateway:
    """``mgx tool serve`` spoken to in raw JSON-RPC lines, for what an SDK client hides
    (request ids, answers out of order, cancellation, malformed input)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.unclaimed: list[dict[str, Any]] = []  # messages read while waiting for another

    async def send(self, message: Any) -> None:
        await self.send_line(json.dumps(message).encode())

    async def send_line(self, line: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + b"\n")
        await self.proc.stdin.drain()

    async def receive(self) -> dict[str, Any]:
        if self.unclaimed:
            return self.unclaimed.pop(0)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), RAW_TIMEOUT)
        assert line, "the gateway closed stdout"
        message: dict[str, Any] = json.loads(line)
        return message

    async def answer(self, ident: Any) -> dict[str, Any]:
        """The answer to request ``ident`` (other messages are kept for ``receive``)."""
        for i, message in enumerate(self.unclaimed):
            if message.get("id") == ident and "method" not in message:
                return self.unclaimed.pop(i)
        assert self.proc.stdout is not None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), RAW_TIMEOUT)
            assert line, "the gateway closed stdout"
            message = json.loads(line)
            if message.get("id") == ident and "method" not in message:
                return dict(message)
            self.unclaimed.append(message)

    async def request(self, ident: Any, method: str, params: Any = None) -> dict[str, Any]:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
        if params is not None:
            message["params"] = params
        await self.send(message)
        return await self.answer(ident)

    async def call(self, ident: Any, name: str, **arguments: Any) -> dict[str, Any]:
        return await self.request(ident, "tools/call", {"name": name, "arguments": arguments})


RAW_TIMEOUT = 60.0
INITIALIZE = {
    "protocolVersion": "2025-06-18",
    "capabilities": {},
    "clientInfo": {"name": "raw-test", "version": "1"},
}


@asynccontextmanager
async def raw_gateway(project: GwProject, *args: str) -> AsyncIterator[RawGateway]:
    """``mgx <args>`` with raw pipes, initialized; stopped (stdin closed) on the way out."""
    errlog = (project.root / "gateway-stderr.log").open("a")
    proc = await asyncio.create_subprocess_exec(
        *MGX,
        *args,
        cwd=project.root,
        env=project.env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=errlog,
        limit=64 * 1024 * 1024,
    )
    try:
        gateway = RawGateway(proc)
        answer = await gateway.request(0, "initialize", INITIALIZE)
        assert "result" in answer, answer
        await gateway.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        yield gateway
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), RAW_TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        errlog.close()
