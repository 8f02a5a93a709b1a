"""A team's MCP server named by a locked tool (no command, no url) runs from mgx.lock."""

from __future__ import annotations

import json
from typing import Any

from runtime.cli import main
from tests.agents.conftest import http_demo  # noqa: F401 - a fixture used below
from tests.agents.test_toolset_loader import write_project
from tests.scripted_llm import Reply, ScriptedLLM

from .conftest import answers_in, new_answer, presenting, vote


def test_a_team_uses_a_locked_server_by_name(tmp_path, capsys, monkeypatch, http_demo):  # noqa: F811
    monkeypatch.setenv("DEMO_KEY", "demo-key-value")
    project = write_project(tmp_path / "proj", http_demo)

    def script(body: dict[str, Any]) -> Reply:
        if presenting(body):
            return Reply(content="final")
        return vote("agent1") if answers_in(body) else new_answer("an answer")

    with ScriptedLLM(default=script) as llm:
        with (project / "mgx.toml").open("a") as fh:
            fh.write(
                f'\n[[team.agents]]\nid = "researcher"\n[team.agents.backend]\n'
                f'type = "vllm"\nmodel = "scripted"\nbase_url = "{llm.url}"\n'
                f'allowed_tools = ["mcp__remote-demo__add", "remote-demo__echo"]\n'
                f"[team.agents.backend.mcp_servers.remote-demo]\n"
            )
        code = main(["run", "t", "-C", str(project), "--json"])
        requests = list(llm.requests)
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert [s["name"] for s in data["servers"]] == ["remote-demo"]
    offered = {t["function"]["name"] for t in requests[0]["tools"]}
    # allowed_tools (MassGen's mcp__ prefix read as mgx's names) narrowed the locked tools.
    assert offered == {"remote-demo__add", "remote-demo__echo", "new_answer"}


def test_an_unknown_bare_server_name_is_a_clear_error(tmp_path, capsys, http_demo):  # noqa: F811
    project = write_project(tmp_path / "proj", http_demo)
    (project / "team.yaml").write_text(
        "agent:\n  id: a\n  backend:\n    type: vllm\n    model: m\n"
        "    mcp_servers:\n      nosuch: {}\n"
    )
    code = main(["run", "t", "-C", str(project), "-c", str(project / "team.yaml"),
                 "--base-url", "http://127.0.0.1:9/v1"])  # fmt: skip
    _, err = capsys.readouterr()
    assert code == 2
    assert (
        "mcp server 'nosuch' has no command or url and is not a tool in the project's mgx.lock"
        in err
    )
