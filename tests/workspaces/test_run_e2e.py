"""``mgx run`` with workspaces, end to end: scripted agents (one scripted OpenAI-compatible
server each, whose replies read the prompt like a model) call the REAL filesystem MCP server
(installed and locked through the marketplace) through the tools mgx gives them.

Turn 1: alpha writes a file (a.txt) and answers; beta reads alpha's snapshot, writes its own file
that refers to it and answers; both vote for beta; beta presents on its restored files, adds
a file, is refused a write to a read-only context path and writes a ``write`` one;
``--output`` gets the final workspace. Turn 2 of the same session sees turn 1's answer and
workspace, and ``--dry-run-writes`` leaves the context path alone and shows the diff.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from runtime.cli import main
from runtime.workspaces import READ_SERVER, WRITE_SERVER
from tests.coordination.conftest import answers_in, holder_of, new_answer, presenting, vote
from tests.scripted_llm import Reply, ScriptedLLM, call

pytestmark = pytest.mark.network

W, R = f"{WRITE_SERVER}__", f"{READ_SERVER}__"
_DIR = re.compile(r"^- (/\S+) \((read and write|read-only)\): (.*)$", re.MULTILINE)
ALPHA_TEXT = "alpha's table: 2 + 2 = 4\n"


def dirs(body: dict[str, Any]) -> dict[str, str]:
    """What the system prompt says the agent may reach: label -> path."""
    return {label: path for path, _mode, label in _DIR.findall(body["messages"][0]["content"])}


def dir_labelled(body: dict[str, Any], start: str) -> str:
    return next(path for label, path in dirs(body).items() if label.startswith(start))


def this_round(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages after the round's opening (the model's steps and tool results)."""
    return body["messages"][2:]


def tool_results(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in this_round(body) if m["role"] == "tool"]


def alpha(ctx_write: Path) -> Any:
    def script(body: dict[str, Any]) -> Reply:
        if presenting(body):
            return Reply(content="alpha presents")
        answers = answers_in(body)
        if not any("ALPHA" in a for a in answers.values()):
            if not tool_results(body):
                mine = dir_labelled(body, "your workspace")
                return Reply(
                    tool_calls=[
                        call(f"{W}write_file", {"path": f"{mine}/a.txt", "content": ALPHA_TEXT}),
                        # context paths are read-only during coordination
                        call(f"{W}write_file", {"path": f"{ctx_write}/x.txt", "content": "x"}),
                    ]
                )
            return new_answer("ALPHA: my table is in a.txt")
        return vote(holder_of(answers, "BETA") or holder_of(answers, "ALPHA") or "agent1")

    return script


def beta(body: dict[str, Any]) -> Reply:
    if presenting(body):
        return beta_presents(body)
    answers = answers_in(body)
    if holder_of(answers, "BETA"):
        return vote(holder_of(answers, "BETA") or "")
    other = holder_of(answers, "ALPHA")
    if other is None:
        return new_answer("beta has nothing yet")  # alpha's answer will restart it
    results = tool_results(body)
    view = dir_labelled(body, "the other agents' workspaces")
    mine = dir_labelled(body, "your workspace")
    if not results:
        return Reply(tool_calls=[call(f"{R}read_text_file", {"path": f"{view}/{other}/a.txt"})])
    if len(results) == 1:
        seen = results[0]
        content = f"beta builds on {other}'s a.txt, which says: {seen}"
        return Reply(
            tool_calls=[call(f"{W}write_file", {"path": f"{mine}/beta.txt", "content": content})]
        )
    return new_answer(f"BETA: beta.txt builds on {other}'s a.txt ({results[0].strip()})")


def beta_presents(body: dict[str, Any]) -> Reply:
    results = tool_results(body)
    mine = dir_labelled(body, "your workspace")
    ctx_ro = dirs(body)["context path"]  # the read-only one (the staged one says more)
    staged = next(p for label, p in dirs(body).items() if "applied at the end" in label)
    steps = [
        call(f"{W}write_file", {"path": f"{mine}/final.txt", "content": "presented\n"}),
        call(f"{W}write_file", {"path": f"{ctx_ro}/notes.txt", "content": "overwritten\n"}),
        call(f"{W}write_file", {"path": f"{staged}/out.txt", "content": "presenter wrote\n"}),
    ]
    if len(results) < len(steps):
        return Reply(tool_calls=[steps[len(results)]])
    return Reply(content="FINAL: see beta.txt and final.txt; refused: " + results[1][:80])


def write_team(path: Path, urls: list[str], ctx_read: Path, ctx_write: Path) -> Path:
    agents = "".join(
        f"  - id: {name}\n    backend: {{type: vllm, model: scripted, base_url: '{url}', "
        f"cwd: ws{i}}}\n"
        for i, (name, url) in enumerate(zip(("alpha", "beta", "solo"), urls, strict=False), 1)
    )
    path.write_text(
        f"agents:\n{agents}"
        "orchestrator:\n  snapshot_storage: snapshots\n  agent_temporary_workspace: temps\n"
        "  context_paths:\n"
        f"    - {{path: '{ctx_read}', permission: read}}\n"
        f"    - {{path: '{ctx_write}', permission: write}}\n"
    )
    return path


def test_two_agents_snapshots_presenter_context_paths_output_and_a_session(
    fs_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx_read, ctx_write = tmp_path / "ctx-read", tmp_path / "ctx-write"
    ctx_read.mkdir()
    ctx_write.mkdir()
    (ctx_read / "notes.txt").write_text("original\n")
    out = tmp_path / "out"
    session = f"s-{tmp_path.name}"[:60]

    with ScriptedLLM(default=alpha(ctx_write)) as a, ScriptedLLM(default=beta) as b:
        config = write_team(tmp_path / "team.yaml", [a.url, b.url], ctx_read, ctx_write)
        code = main(
            ["run", "make the table", "--config", str(config), "-C", str(fs_home),
             "--output", str(out), "--session", session, "--json"]
        )  # fmt: skip
        stdout, err = capsys.readouterr()
        alpha_requests = list(a.requests)
    assert code == 0, err
    data = json.loads(stdout)
    assert data["winner_name"] == "beta" and data["answer"].startswith("FINAL")

    # alpha's write into a context path during coordination was refused, nothing written
    alpha_results = [r for req in alpha_requests for r in tool_results(req)]
    assert any("Tool error" in r for r in alpha_results)
    assert not (ctx_write / "x.txt").exists()
    # beta read alpha's snapshot (by its anonymous id) and referred to it
    beta_answer = next(x["content"] for x in data["answers"] if "BETA" in x["content"])
    assert "alpha's table: 2 + 2 = 4" in beta_answer and "agent1" in beta_answer
    # the final workspace: the winner's files plus the presenter's change, copied to --output
    ws = data["workspace"]
    assert ws["final_workspace"] == str(out) and ws["output"] == str(out)
    assert sorted(p.name for p in out.iterdir()) == ["beta.txt", "final.txt"]
    assert "alpha's table" in (out / "beta.txt").read_text()
    # the read-only context path refused the presenter's write; the write path took it
    assert (ctx_read / "notes.txt").read_text() == "original\n"
    assert "FINAL" in data["answer"] and "Tool error" in data["answer"]
    assert (ctx_write / "out.txt").read_text() == "presenter wrote\n"
    assert [(c["path"], c["kind"]) for c in ws["context_writes"]] == [
        (str((ctx_write / "out.txt").resolve()), "added")
    ]
    # no --keep: the run's directory is gone
    assert not Path(ws["run_dir"]).exists()
    assert data["session"]["turn"] == 1 and data["session"]["name"] == session

    # turn 2: one agent sees turn 1's answer and workspace; --dry-run-writes only diffs
    def solo(body: dict[str, Any]) -> Reply:
        system = body["messages"][0]["content"]
        earlier = dir_labelled(body, "final workspace of earlier turn 1")
        if presenting(body):
            if not tool_results(body):
                staged = next(p for lb, p in dirs(body).items() if "applied at the end" in lb)
                return Reply(
                    tool_calls=[
                        call(f"{W}write_file", {"path": f"{staged}/out.txt", "content": "v2\n"})
                    ]
                )
            return Reply(content="turn 2 done")
        answers = answers_in(body)
        if answers:
            return vote(next(iter(answers)))
        results = tool_results(body)
        if not results:
            return Reply(tool_calls=[call(f"{R}read_text_file", {"path": f"{earlier}/final.txt"})])
        knows = "FINAL: see beta.txt" in system
        return new_answer(f"turn 1 said FINAL: {knows}; its final.txt: {results[0].strip()}")

    with ScriptedLLM(default=solo) as s:
        config = tmp_path / "solo.yaml"
        config.write_text(
            f"agent:\n  id: solo\n  backend: {{type: vllm, model: scripted, base_url: '{s.url}',"
            f" cwd: ws}}\norchestrator:\n  context_paths:\n"
            f"    - {{path: '{ctx_write}', permission: write}}\n"
        )
        code = main(
            ["run", "continue", "--config", str(config), "-C", str(fs_home),
             "--session", session, "--dry-run-writes", "--json"]
        )  # fmt: skip
        stdout, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(stdout)
    assert data["answers"][0]["content"] == "turn 1 said FINAL: True; its final.txt: presented"
    assert (ctx_write / "out.txt").read_text() == "presenter wrote\n"  # dry run: unchanged
    change = data["workspace"]["context_writes"][0]
    assert change["kind"] == "modified" and not change["applied"]
    assert "-presenter wrote" in change["diff"] and "+v2" in change["diff"]
    assert data["session"]["turn"] == 2

    assert main(["run", "--session", session, "--list", "--json"]) == 0
    turns = json.loads(capsys.readouterr()[0])["turns"]
    assert [t["turn"] for t in turns] == [1, 2] and turns[0]["task"] == "make the table"
    assert Path(turns[0]["workspace"], "final.txt").read_text() == "presented\n"


def test_planning_mode_holds_file_writes_for_the_presenter_and_escapes_are_refused(
    fs_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "link.txt").symlink_to(secret)  # inside a granted path, pointing outside

    def agent(body: dict[str, Any]) -> Reply:
        if not presenting(body):
            answers = answers_in(body)
            return vote(next(iter(answers))) if answers else new_answer("plan: write out.txt")
        mine = dirs(body)["your workspace"]
        escapes = [
            call(f"{W}write_file", {"path": f"{mine}/../escaped.txt", "content": "x"}),
            call(f"{W}read_text_file", {"path": str(secret)}),
            call(f"{R}read_text_file", {"path": f"{ctx}/link.txt"}),
            call(f"{W}write_file", {"path": f"{mine}/out.txt", "content": "written\n"}),
        ]
        done = tool_results(body)
        if len(done) < len(escapes):
            return Reply(tool_calls=[escapes[len(done)]])
        return Reply(content="RESULTS: " + " | ".join(r[:60] for r in done))

    with ScriptedLLM(default=agent) as llm:
        config = tmp_path / "team.yaml"
        config.write_text(
            f"agent:\n  id: planner\n  backend: {{type: vllm, model: scripted, "
            f"base_url: '{llm.url}', cwd: ws}}\n"
            f"orchestrator:\n  context_paths: [{{path: '{ctx}', permission: read}}]\n"
        )
        code = main(
            ["run", "plan then write", "--config", str(config), "-C", str(fs_home),
             "--planning", "--keep", "--json"]
        )  # fmt: skip
        stdout, err = capsys.readouterr()
        requests = list(llm.requests)
    assert code == 0, err
    data = json.loads(stdout)

    def offered(request: dict[str, Any]) -> set[str]:
        return {t["function"]["name"] for t in request.get("tools", [])}

    coordinating = [r for r in requests if not presenting(r)]
    assert coordinating and all(f"{W}write_file" not in offered(r) for r in coordinating)
    assert all(f"{R}read_text_file" in offered(r) for r in coordinating)  # reading stays
    assert any(f"{W}write_file" in offered(r) for r in requests if presenting(r))
    results = data["answer"].removeprefix("RESULTS: ").split(" | ")
    assert all("Tool error" in r for r in results[:3]), results
    assert "top secret" not in data["answer"]
    run_dir = Path(data["workspace"]["run_dir"])
    assert data["workspace"]["kept"] and run_dir.is_dir()  # --keep
    assert not (run_dir / "workspaces" / "escaped.txt").exists()
    assert (Path(data["workspace"]["final_workspace"]) / "out.txt").read_text() == "written\n"
