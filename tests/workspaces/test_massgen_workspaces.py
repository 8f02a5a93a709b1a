"""MassGen's own filesystem examples (tests/data/massgen, unmodified) whose backends speak
the OpenAI chat API run through ``mgx run --base-url`` against the scripted server: every
agent writes a file into its workspace (``cwd``) with the REAL filesystem MCP server, the
winner's files reach the presenter's final workspace, and the presenter adds its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runtime.cli import main
from runtime.teams import load_team_file
from runtime.workspaces import WRITE_SERVER
from tests.coordination.conftest import answers_in, new_answer, presenting, vote
from tests.coordination.test_massgen_configs import DATA, WITH_FILES
from tests.scripted_llm import Reply, call

from .test_run_e2e import dirs, tool_results

pytestmark = pytest.mark.network


def _script(body: dict[str, Any]) -> Reply:
    mine = dirs(body)["your workspace"]
    me = Path(mine).name  # the workspace is workspaces/<agent id>
    if presenting(body):
        if not tool_results(body):
            return Reply(
                tool_calls=[call(f"{WRITE_SERVER}__write_file",
                                 {"path": f"{mine}/presented.txt", "content": "done\n"})]
            )  # fmt: skip
        return Reply(content="final answer")
    answers = answers_in(body)
    if f"{me} wrote {me}.txt" in answers.values():
        return vote(next(iter(answers)))
    if not tool_results(body):
        return Reply(
            tool_calls=[call(f"{WRITE_SERVER}__write_file",
                             {"path": f"{mine}/{me}.txt", "content": f"by {me}\n"})]
        )  # fmt: skip
    return new_answer(f"{me} wrote {me}.txt")


@pytest.mark.parametrize("path", WITH_FILES, ids=lambda p: str(p.relative_to(DATA)))
def test_massgen_filesystem_examples_run_with_workspaces(
    path: Path, fs_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.scripted_llm import ScriptedLLM

    spec = load_team_file(path)
    with ScriptedLLM(default=_script) as llm:
        code = main(
            ["run", "Write a file.", "--config", str(path), "--base-url", llm.url,
             "-C", str(fs_home), "--json"]
        )  # fmt: skip
        out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["answer"] == "final answer" and data["failures"] == {}
    assert [a["name"] for a in data["agents"]] == [a.id for a in spec.agents]
    final = Path(data["workspace"]["final_workspace"])
    winner = data["winner_name"]
    assert sorted(p.name for p in final.iterdir()) == sorted([f"{winner}.txt", "presented.txt"])
    assert (final / f"{winner}.txt").read_text() == f"by {winner}\n"
