"""`mgx run`: team configs (YAML, mgx.toml [team]), endpoints and keys, --json, transcript."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from marketplace.manifest import parse_manifest
from runtime.cli import main
from runtime.cli._live import LiveView
from runtime.errors import TeamConfigError
from runtime.teams import check_team, parse_team
from runtime.teams._providers import resolve_endpoint
from tests.scripted_llm import Fail, Reply, ScriptedLLM, call

from .conftest import answers_in, new_answer, presenting, vote


def _script(body: dict[str, Any]) -> Reply:
    if presenting(body):
        return Reply(content="final answer")
    answers = answers_in(body)
    return vote(next(iter(answers))) if answers else new_answer("an answer")


def _write(tmp_path: Path, text: str, name: str = "team.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


TWO_VLLM = """
agents:
  - id: "qwen1"
    backend: {type: "vllm", model: "Qwen/Qwen3-0.6B", base_url: "BASE", temperature: 0.2,
              max_tokens: 900, top_p: 0.9}
    system_message: "You are precise."
  - id: "qwen2"
    backend: {type: "vllm", model: "Qwen/Qwen3-0.6B", base_url: "BASE"}
ui: {display_type: "rich_terminal", logging_enabled: true}
"""


def test_a_massgen_file_runs_on_its_own_endpoints(tmp_path, capsys):
    with ScriptedLLM(default=_script, models=("Qwen/Qwen3-0.6B",)) as llm:
        config = _write(tmp_path, TWO_VLLM.replace("BASE", llm.url))
        code = main(["run", "What is ML?", "--config", str(config), "--json"])
        requests = list(llm.requests)
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    # Whichever agent answered first holds the only answer both vote for.
    assert data["winner_name"] == {"agent1": "qwen1", "agent2": "qwen2"}[data["winner"]]
    assert [(a["name"], a["model"]) for a in data["agents"]] == [
        ("qwen1", "Qwen/Qwen3-0.6B"),
        ("qwen2", "Qwen/Qwen3-0.6B"),
    ]
    assert data["rounds"] >= 4 and data["votes"] and data["guard"]["fired"] is False
    # Each agent completed at least its vote (its first request may have been cancelled by
    # the other's answer); together at least one answer, two votes and the presentation.
    assert all(a["usage"]["model_calls"] >= 1 for a in data["agents"])
    assert data["usage"]["model_calls"] >= 4
    # Sampling keys reach the first agent's requests; its system message follows the shared one.
    first = [r for r in requests if r["messages"][0]["content"].endswith("You are precise.")]
    assert first and all(
        r["temperature"] == 0.2 and r["max_tokens"] == 900 and r["top_p"] == 0.9 for r in first
    )
    assert all(r["model"] == "Qwen/Qwen3-0.6B" for r in requests)


def test_base_url_overrides_every_agent_and_uses_the_served_model(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LOCAL_KEY", "sk-local-123456")
    config = _write(
        tmp_path,
        "agents:\n"
        "  - {id: a, backend: {type: openai, model: gpt-5}}\n"
        "  - {id: b, backend: {type: claude, model: claude-sonnet-4}}\n",
    )
    with ScriptedLLM(default=_script, api_key="sk-local-123456") as llm:
        code = main(
            ["run", "t", "-c", str(config), "--base-url", llm.url, "--api-key-env", "LOCAL_KEY",
             "--json"]
        )  # fmt: skip
        requests = list(llm.requests)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert {r["model"] for r in requests} == {"scripted"}  # gpt-5 is not served there
    assert json.loads(out)["answer"] == "final answer"


def test_cloud_backends_need_their_key(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = _write(tmp_path, "agent: {id: a, backend: {type: openai, model: gpt-5}}\n")
    code = main(["run", "t", "-c", str(config)])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip() == (
        "mgx: error: agent 'a' (backend openai) needs an API key: set OPENAI_API_KEY "
        "(or give --base-url URL for a local OpenAI-compatible server)"
    )


@pytest.mark.parametrize(
    ("kind", "url", "var"),
    [
        ("openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
        ("claude", "https://api.anthropic.com/v1", "ANTHROPIC_API_KEY"),
        ("gemini", "https://generativelanguage.googleapis.com/v1beta/openai", "GOOGLE_API_KEY"),
        ("grok", "https://api.x.ai/v1", "XAI_API_KEY"),
        ("zai", "https://api.z.ai/api/paas/v4", "ZAI_API_KEY"),
        ("lmstudio", "http://localhost:1234/v1", None),
        ("vllm", "http://localhost:8000/v1", None),
        ("sglang", "http://localhost:30000/v1", None),
    ],
)
def test_provider_defaults(kind, url, var):
    env = {var: "k-" + kind} if var else {}
    endpoint = resolve_endpoint("a", kind, base_url=None, api_key=None, environ=env)
    assert endpoint.base_url == url
    assert endpoint.api_key == (env[var] if var else None)


def test_chatcompletion_key_follows_the_provider_and_azure_gets_its_v1_path():
    cerebras = resolve_endpoint(
        "a",
        "chatcompletion",
        base_url="https://api.cerebras.ai/v1",
        api_key=None,
        environ={"CEREBRAS_API_KEY": "c-key"},
    )
    assert cerebras.api_key == "c-key"
    azure = resolve_endpoint(
        "a",
        "azure_openai",
        base_url=None,
        api_key="${MY_AZURE}",
        environ={"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com/", "MY_AZURE": "az"},
    )
    assert azure == type(azure)("https://r.openai.azure.com/openai/v1", "az")
    with pytest.raises(TeamConfigError, match="needs base_url or set AZURE_OPENAI_ENDPOINT"):
        resolve_endpoint("a", "azure_openai", base_url=None, api_key="x", environ={})


def test_claude_code_is_refused_by_name(tmp_path, capsys):
    config = _write(tmp_path, "agent: {id: cc, backend: {type: claude_code}}\n")
    code = main(["run", "t", "-c", str(config)])
    _, err = capsys.readouterr()
    assert code == 2 and "backend type 'claude_code' is not supported" in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_keys_warn_and_the_run_goes_on(tmp_path, capsys):
    with ScriptedLLM(default=_script) as llm:
        config = _write(
            tmp_path,
            f"agent:\n  id: a\n  flavour: x\n  backend:\n    type: vllm\n    model: m\n"
            f"    base_url: {llm.url}\n    enable_web_search: true\n    colour: red\n",
        )
        code = main(["run", "t", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == 0 and out == "final answer\n"
    assert "mgx: warning: " in err
    assert "unknown key agents[a].flavour ignored" in err
    assert "unknown key agents[a].backend.colour ignored" in err
    assert "enable_web_search ignored: provider built-in tools" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agents: []\n", "'agents' must be a non-empty list"),
        ("ui: {}\n", "no agents"),
        ("agent: {id: a}\n", "has no 'backend'"),
        ("agent: {id: a, backend: {model: m}}\n", "has no 'type'"),
        ("agent: {id: a, backend: {type: openai}}\n", "has no 'model'"),
        (
            "agents:\n  - {id: a, backend: {type: vllm, model: m}}\n"
            "  - {id: a, backend: {type: vllm, model: m}}\n",
            "unique",
        ),
        ("agent: {id: a, backend: {type: vllm, model: m, temperature: hot}}\n", "temperature"),
        (
            "agent: {id: a, backend: {type: vllm, model: m, mcp_servers: {x: {type: stdio}}}}\n",
            "needs 'command'",
        ),
        ("agent: [\n", "not valid YAML"),
    ],
)
def test_bad_configs_are_one_line_usage_errors(tmp_path, capsys, text, message):
    config = _write(tmp_path, text)
    code = main(["run", "t", "-c", str(config)])
    _, err = capsys.readouterr()
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_workspace_keys_are_parsed_and_accepted(tmp_path, capsys):
    spec = parse_team(
        {
            "agent": {"id": "a", "backend": {"type": "vllm", "model": "m", "cwd": "ws"}},
            "orchestrator": {
                "snapshot_storage": "snaps",
                "context_paths": [{"path": "/src", "permission": "write"}],
            },
        }
    )
    assert spec.agents[0].backend.workspace.cwd == "ws"
    assert spec.workspace.snapshot_storage == "snaps"
    assert spec.workspace.context_paths[0].permission == "write"
    assert spec.unsupported() == []
    check_team(spec)  # served now: not refused


def test_mgx_toml_short_workspace_forms(tmp_path):
    spec = parse_team(
        {
            "workspace": True,
            "context_paths": [{"path": "docs", "permission": "read"}],
            "agents": [
                {"id": "a", "backend": {"type": "vllm", "model": "m"}},
                {"id": "b", "backend": {"type": "vllm", "model": "m", "cwd": "mine"}},
            ],
        }
    )
    assert [a.backend.workspace.cwd for a in spec.agents] == ["a", "mine"]
    assert [c.path for c in spec.workspace.context_paths] == ["docs"]
    one = parse_team(
        {"agents": [{"id": "x", "workspace": True, "backend": {"type": "vllm", "model": "m"}}]}
    )
    assert one.agents[0].backend.workspace.cwd == "x"
    with pytest.raises(TeamConfigError, match="workspace must be true or false"):
        parse_team({"workspace": "yes", "agents": [{"backend": {"type": "vllm", "model": "m"}}]})


def test_bad_context_path_is_one_line_before_anything_starts(tmp_path, capsys):
    config = tmp_path / "team.yaml"
    config.write_text(
        "agents:\n  - id: a\n    backend: {type: vllm, model: m, cwd: ws}\n"
        "orchestrator:\n  context_paths:\n    - {path: missing-dir, permission: read}\n"
    )
    code = main(["run", "t", "--config", str(config), "--base-url", "http://127.0.0.1:9/v1"])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "missing-dir" in err


def test_output_needs_a_workspace(tmp_path, capsys):
    config = tmp_path / "team.yaml"
    config.write_text("agents:\n  - id: a\n    backend: {type: vllm, model: m}\n")
    code = main(
        ["run", "t", "--config", str(config), "--base-url", "http://127.0.0.1:9/v1",
         "--output", str(tmp_path / "out")]
    )  # fmt: skip
    _, err = capsys.readouterr()
    assert code == 2 and "--output needs a team whose agents have workspaces" in err
    assert not (tmp_path / "out").exists()


def test_session_list_of_an_unknown_session(capsys, mgx_home):
    assert main(["run", "--session", "nothing-yet", "--list", "--json"]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out) == {"session": "nothing-yet", "turns": []}


def test_team_in_mgx_toml(tmp_path, capsys, monkeypatch):
    with ScriptedLLM(default=_script) as llm:
        (tmp_path / "mgx.toml").write_text(
            "[tools]\n\n[team.orchestrator]\nmax_answers = 1\n\n"
            "[team.timeout_settings]\norchestrator_timeout_seconds = 60\n\n"
            f'[[team.agents]]\nid = "one"\nsystem_message = "Be brief."\n'
            f'[team.agents.backend]\ntype = "vllm"\nmodel = "scripted"\nbase_url = "{llm.url}"\n\n'
            f'[[team.agents]]\nid = "two"\n'
            f'[team.agents.backend]\ntype = "vllm"\nmodel = "scripted"\nbase_url = "{llm.url}"\n'
        )
        code = main(["run", "t", "-C", str(tmp_path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [a["name"] for a in json.loads(out)["agents"]] == ["one", "two"]
    # The marketplace reads the same manifest and leaves [team] alone.
    manifest = parse_manifest((tmp_path / "mgx.toml").read_text())
    assert manifest.tools == {}


def test_no_team_anywhere_is_a_clear_error(tmp_path, capsys):
    code = main(["run", "t", "-C", str(tmp_path)])
    _, err = capsys.readouterr()
    assert code == 2 and "no team: give --config FILE" in err


def test_json_when_every_agent_fails(tmp_path, capsys):
    with ScriptedLLM(default=Fail(500)) as llm:
        config = _write(
            tmp_path,
            f"agent: {{id: a, backend: {{type: vllm, model: m, base_url: '{llm.url}'}}}}\n",
        )
        code = main(["run", "t", "-c", str(config), "--json", "--max-steps", "1"])
    out, _ = capsys.readouterr()
    assert code == 1
    data = json.loads(out)
    assert data["answer"] is None and data["error"].startswith("no agent produced an answer")
    assert "agent1" in data["failures"] and data["agents"][0]["usage"]["model_calls"] == 0


def test_json_on_orchestrator_timeout(tmp_path, capsys):
    import threading

    release = threading.Event()

    def slow_second(body: dict[str, Any]) -> Reply:
        if presenting(body):
            return Reply(content="presented at timeout")
        if not answers_in(body):
            return new_answer("first")
        release.wait(30)
        return vote("agent1")

    try:
        with ScriptedLLM(default=slow_second) as llm:
            config = _write(
                tmp_path,
                f"agent: {{id: a, backend: {{type: vllm, model: m, base_url: '{llm.url}'}}}}\n",
            )
            code = main(["run", "t", "-c", str(config), "--json", "--timeout", "5"])
    finally:
        release.set()
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    assert data["timed_out"] is True and data["answer"] == "presented at timeout"
    assert data["decision"].startswith("no valid votes at timeout")


def test_transcript_has_every_message_and_no_secret(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TEAM_KEY", "sk-very-secret-key-42")

    def leaky(body: dict[str, Any]) -> Reply:
        if presenting(body):
            return Reply(content="final answer")
        if body["messages"][-1]["role"] == "tool" and "weather" in str(body["messages"][-2]):
            return new_answer("the key is sk-very-secret-key-42 and it is sunny")
        answers = answers_in(body)
        if answers:
            return vote("agent1")
        return Reply(tool_calls=[call("stub__get_current_weather", {"city": "Paris"})])

    stub = Path(__file__).with_name("stub_mcp_server.py")
    import sys

    with ScriptedLLM(default=leaky, api_key="sk-very-secret-key-42") as llm:
        config = _write(
            tmp_path,
            "agent:\n  id: a\n  backend:\n    type: vllm\n    model: scripted\n"
            f"    base_url: {llm.url}\n    api_key: '${{TEAM_KEY}}'\n"
            f"    mcp_servers:\n      stub:\n        type: stdio\n"
            f"        command: {sys.executable}\n        args: [{str(stub)!r}]\n"
            '        env: {TOKEN: "${TEAM_KEY}"}\n',
        )
        code = main(["run", "t", "-c", str(config), "--transcript", str(tmp_path / "tr")])
    out, err = capsys.readouterr()
    assert code == 0, err
    files = list((tmp_path / "tr").glob("run-*.jsonl"))
    assert len(files) == 1 and f"transcript: {files[0]}" in err
    text = files[0].read_text()
    assert "sk-very-secret-key-42" not in text and "[redacted]" in text
    records = [json.loads(line) for line in text.splitlines()]
    kinds = {r["kind"] for r in records}
    assert {"round", "message", "tool", "answer", "vote", "present", "final"} <= kinds
    tool = next(r for r in records if r["kind"] == "tool")
    assert (
        tool["text"] == "stub__get_current_weather" and "sunny in Paris" in tool["data"]["result"]
    )


def test_the_live_view_draws_a_panel_per_agent():
    from io import StringIO

    from rich.console import Console

    from runtime.coordination import CoordinationEvent

    view = LiveView(enabled=False)
    for event in [
        CoordinationEvent(agent="agent1", kind="round", text="1"),
        CoordinationEvent(
            agent="agent1", kind="message", data={"role": "assistant", "content": "thinking..."}
        ),
        CoordinationEvent(agent="agent1", kind="tool", text="stub__mcp_echo"),
        CoordinationEvent(agent="agent1", kind="answer", text="42"),
        CoordinationEvent(agent="agent2", kind="round", text="1"),
        CoordinationEvent(agent="agent2", kind="vote", text="agent1"),
        CoordinationEvent(agent="agent3", kind="failed", text="timed out"),
    ]:
        view(event)
    buffer = StringIO()
    Console(file=buffer, width=160, color_system=None).print(view.render())
    drawn = buffer.getvalue()
    for expected in ("agent1", "answered", "answer: 42", "stub__mcp_echo", "thinking...",
                     "voted", "vote: agent1", "failed", "timed out"):  # fmt: skip
        assert expected in drawn


def test_no_live_view_without_a_tty(tmp_path, capsys):
    with ScriptedLLM(default=_script) as llm:
        config = _write(tmp_path, TWO_VLLM.replace("BASE", llm.url))
        code = main(["run", "t", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == 0 and out == "final answer\n"
    assert "\x1b[" not in err  # no terminal control sequences
    assert err.splitlines()[0].startswith("team: winner agent")


def test_marketplace_edits_keep_the_team_table():
    from marketplace.manifest import edit_manifest, parse_requirement

    text = (
        "# my project\n[tools]\n\n[team]  # the runtime's\n"
        '[[team.agents]]\nid = "one"\n[team.agents.backend]\ntype = "vllm"\nmodel = "m"\n'
    )
    editor = edit_manifest(text)
    editor.set_tool(parse_requirement("io.github.a/time", "1.0.0"))
    edited = editor.text()
    assert "[team]  # the runtime's" in edited and 'id = "one"' in edited
    assert "io.github.a/time" in edited
    assert parse_team(__import__("tomllib").loads(edited)["team"]).agents[0].id == "one"
