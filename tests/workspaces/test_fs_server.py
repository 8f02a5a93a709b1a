"""The real ``@modelcontextprotocol/server-filesystem`` (installed and locked through the
marketplace), driven through mgx's MCP client (``ToolHub``, the mcp SDK), with the
directories ``RunWorkspaces`` grants: writes land only in the workspace, read-only
directories refuse writes, ``..``/absolute/symlink escapes are refused by the server and by
mgx's own check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.tools import ToolHub
from runtime.tools._model import ServerSpec
from runtime.workspaces import (
    READ_SERVER,
    READ_TOOLS,
    WRITE_SERVER,
    AgentAccess,
    PathRefused,
    RunWorkspaces,
    file_servers,
    validate_context_paths,
)

pytestmark = pytest.mark.network


def _run(tmp_path: Path, *, permission: str = "read", agents: tuple[str, ...] = ("a1", "a2")):
    ctx = tmp_path / "user-files"
    ctx.mkdir()
    (ctx / "notes.txt").write_text("original\n")
    paths = validate_context_paths(
        [{"path": str(ctx), "permission": permission}], base=tmp_path, reserved=[tmp_path / "run"]
    )
    ws = RunWorkspaces(tmp_path / "run", workspace_agents=agents, context_paths=paths)
    return ws, ctx


async def _call(hub: ToolHub, access: AgentAccess, allowed: list[str], name: str, **args: object):
    """What the orchestrator does for a file-tool call: mgx's check, then the server."""
    tool = next(t for t in hub.tools() if t.name == name) if name in allowed else None
    if tool is not None:
        try:
            access.check(tool.server, tool.tool, args)
        except PathRefused as exc:
            return True, f"refused by mgx: {exc}"
    outcome = await hub.call(name, dict(args), allowed=allowed)
    return outcome.is_error, outcome.text


def test_the_lock_gives_a_command_without_directories(fs_server: ServerSpec) -> None:
    assert fs_server.transport == "stdio"
    assert "server-filesystem" in " ".join(fs_server.command)
    assert not any(part.startswith("/tmp") for part in fs_server.command[1:])


async def test_read_tools_are_exactly_the_servers_read_only_ones(
    fs_server: ServerSpec, tmp_path: Path
) -> None:
    """The allow-list must only hold tools the server itself annotates readOnlyHint."""
    from mcp import Client  # the SDK's client, straight to the server
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=fs_server.command[0], args=[*fs_server.command[1:], str(tmp_path)]
    )
    # A real file for the server's stderr: pytest's captured stderr has no descriptor.
    with (tmp_path / "server.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            tools = (await client.list_tools()).tools
    read_only = {t.name for t in tools if t.annotations and t.annotations.read_only_hint}
    writers = {t.name for t in tools} - read_only
    assert READ_TOOLS <= read_only
    assert {"write_file", "edit_file", "move_file", "create_directory"} <= writers


async def test_coordination_write_lands_in_the_workspace_and_context_is_read_only(
    fs_server: ServerSpec, tmp_path: Path
) -> None:
    ws, ctx = _run(tmp_path, permission="write")  # write only for the presenter, later
    ws.view_for("a1")
    access = ws.access("a1", "coordination")
    servers = file_servers(fs_server, access)
    own = ws.workspace("a1")
    assert own is not None
    async with ToolHub(servers.specs) as hub:
        allowed = [t.name for t in hub.tools(servers.tool_filter)]
        assert f"{WRITE_SERVER}__write_file" in allowed
        assert f"{READ_SERVER}__read_text_file" in allowed
        assert f"{READ_SERVER}__write_file" not in allowed  # hidden from the model

        err, text = await _call(
            hub, access, allowed, f"{WRITE_SERVER}__write_file",
            path=str(own / "hello.py"), content="print('hi')\n",
        )  # fmt: skip
        assert not err, text
        assert (own / "hello.py").read_text() == "print('hi')\n"

        # the context path: readable ...
        err, text = await _call(
            hub, access, allowed, f"{READ_SERVER}__read_text_file", path=str(ctx / "notes.txt")
        )
        assert not err and "original" in text
        # ... but no tool writes it: the read-only instance has no write tool at all,
        err, text = await _call(
            hub, access, allowed, f"{READ_SERVER}__write_file",
            path=str(ctx / "notes.txt"), content="changed",
        )  # fmt: skip
        assert err and "no tool named" in text
        # the writing instance refuses it (mgx first; then the server, asked directly),
        err, text = await _call(
            hub, access, allowed, f"{WRITE_SERVER}__write_file",
            path=str(ctx / "notes.txt"), content="changed",
        )  # fmt: skip
        assert err and "refused by mgx" in text
        outcome = await hub.call(
            f"{WRITE_SERVER}__write_file", {"path": str(ctx / "notes.txt"), "content": "changed"}
        )
        assert outcome.is_error and "outside allowed directories" in outcome.text
        assert (ctx / "notes.txt").read_text() == "original\n"
        assert sorted(p.name for p in ctx.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
async def test_escapes_are_refused_by_server_and_by_mgx(
    fs_server: ServerSpec, tmp_path: Path, how: str
) -> None:
    ws, _ctx = _run(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    own = ws.workspace("a1")
    assert own is not None
    if how == "dotdot":
        target = str(own / ".." / ".." / "outside" / "secret.txt")
    elif how == "absolute":
        target = str(outside / "secret.txt")
    else:
        os.symlink(outside, own / "link")
        target = str(own / "link" / "secret.txt")
    access = ws.access("a1", "coordination")
    with pytest.raises(PathRefused):
        access.check(WRITE_SERVER, "read_text_file", {"path": target})
    with pytest.raises(PathRefused):
        access.check(WRITE_SERVER, "write_file", {"path": target, "content": "x"})
    servers = file_servers(fs_server, access)
    async with ToolHub(servers.specs) as hub:
        read = await hub.call(f"{WRITE_SERVER}__read_text_file", {"path": target})
        assert read.is_error and "secret" not in read.text.replace("secret.txt", "")
        write = await hub.call(f"{WRITE_SERVER}__write_file", {"path": target, "content": "x"})
        assert write.is_error
    assert (outside / "secret.txt").read_text() == "secret\n"


async def test_second_agent_reads_the_first_agents_snapshot_and_presenter_builds_on_it(
    fs_server: ServerSpec, tmp_path: Path
) -> None:
    ws, ctx = _run(tmp_path, permission="write")
    # agent a1 writes a file with its tools, then answers
    a1 = ws.access("a1", "coordination")
    servers = file_servers(fs_server, a1)
    async with ToolHub(servers.specs) as hub:
        out = await hub.call(
            f"{WRITE_SERVER}__write_file",
            {"path": str(ws.workspace("a1") / "index.html"), "content": "<h1>v1</h1>\n"},
        )
        assert not out.is_error, out.text
    ws.on_new_answer("a1", "agent1")
    # a1 keeps working after answering: its snapshot must not change
    (ws.workspace("a1") / "index.html").write_text("<h1>draft</h1>\n")

    # a2 restarts with the new answer: it sees agent1's files read-only, not a1's name
    view = ws.view_for("a2")
    a2 = ws.access("a2", "coordination")
    servers = file_servers(fs_server, a2)
    async with ToolHub(servers.specs) as hub:
        allowed = [t.name for t in hub.tools(servers.tool_filter)]
        err, text = await _call(
            hub, a2, allowed, f"{READ_SERVER}__read_text_file", path=str(view / "agent1/index.html")
        )
        assert not err and "<h1>v1</h1>" in text
        err, text = await _call(
            hub, a2, allowed, f"{WRITE_SERVER}__write_file",
            path=str(view / "agent1/index.html"), content="hijack",
        )  # fmt: skip
        assert err
        err, text = await _call(
            hub, a2, allowed, f"{WRITE_SERVER}__write_file",
            path=str(ws.workspace("a2") / "style.css"), content="h1 { color: red }\n",
        )  # fmt: skip
        assert not err, text
    assert (view / "agent1/index.html").read_text() == "<h1>v1</h1>\n"
    ws.on_new_answer("a2", "agent2")

    # agent1 (a1's answer) wins; a2 presents from a1's snapshot and adds its change
    presenter = ws.prepare_presenter(winner_id="a1", presenter_id="a2")
    final_ws = ws.workspace("a2")
    assert final_ws is not None
    assert (final_ws / "index.html").read_text() == "<h1>v1</h1>\n"  # the snapshot, not draft
    staged = next(d for d in presenter.write_dirs if d != final_ws)
    servers = file_servers(fs_server, presenter)
    async with ToolHub(servers.specs) as hub:
        allowed = [t.name for t in hub.tools(servers.tool_filter)]
        for path, content in (
            (final_ws / "index.html", "<h1>v1</h1>\n<p>final</p>\n"),
            (staged / "notes.txt", "original\nplus the presenter's line\n"),
        ):
            err, text = await _call(
                hub, presenter, allowed, f"{WRITE_SERVER}__write_file",
                path=str(path), content=content,
            )  # fmt: skip
            assert not err, text
    assert (ctx / "notes.txt").read_text() == "original\n"  # not before the end
    result = ws.finish(output=tmp_path / "out")
    assert (tmp_path / "out" / "index.html").read_text() == "<h1>v1</h1>\n<p>final</p>\n"
    assert (ctx / "notes.txt").read_text() == "original\nplus the presenter's line\n"
    assert [(c.kind, c.applied) for c in result.context_writes] == [("modified", True)]
    assert not (tmp_path / "run").exists()  # temporary trees removed (no --keep)
