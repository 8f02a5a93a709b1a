"""Runtime defects found while building coordination (issue 11, section 5), one test each.

(The effective tool timeout is in tests/agents/test_tools.py::test_hung_server_gives_tool_
error_and_is_restarted; a member's model id in tests/agents/test_cli.py::test_team_from_the_cli.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from runtime.cli import main
from runtime.models import ModelTarget
from runtime.runner import run_task
from tests.agents.conftest import DEMO_SERVER, demo_spec
from tests.scripted_llm import Reply, ScriptedLLM, call

from .conftest import answers_in, new_answer, presenting, vote

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, url: str, *server_args: str) -> Path:
    args = ", ".join(repr(a) for a in (str(DEMO_SERVER), *server_args))
    path = tmp_path / "team.yaml"
    path.write_text(
        f"agent:\n  id: a\n  backend:\n    type: vllm\n    model: scripted\n    base_url: {url}\n"
        f"    mcp_servers:\n      demo:\n        type: stdio\n"
        f"        command: {sys.executable}\n        args: [{args}]\n"
    )
    return path


def test_tool_start_timeout_is_an_option(tmp_path, capsys):
    with ScriptedLLM([Reply(content="never")]) as llm:
        config = _config(tmp_path, llm.url, "--startup-delay", "30")
        t0 = time.monotonic()
        code = main(["run", "t", "-c", str(config), "--tool-start-timeout", "1"])
        elapsed = time.monotonic() - t0
        assert llm.requests == []
    _, err = capsys.readouterr()
    assert code == 1 and "did not finish starting within 1s" in err
    assert elapsed < 20  # not the fixed 60 s wait


async def test_usage_time_includes_tool_start_up():
    with ScriptedLLM([Reply(content="done")]) as llm:
        target = ModelTarget(name="s", model="scripted", endpoints=(llm.url,), api_key=None)
        outcome = await run_task(
            "t", models=[target], servers=[demo_spec("demo", "--startup-delay", "1.5")]
        )
    assert outcome.usage.wall_s >= 1.5
    assert outcome.agent is not None and outcome.agent.usage.wall_s < outcome.usage.wall_s


def test_no_bare_restart_line_on_stderr_under_json(tmp_path):
    def script(body: dict[str, Any]) -> Reply:
        if presenting(body):
            return Reply(content="final")
        last = body["messages"][-1]
        if last["role"] == "user":
            return Reply(tool_calls=[call("demo__hang", {})])
        answers = answers_in(body)
        return vote("agent1") if answers else new_answer("answer after a hung tool")

    with ScriptedLLM(default=script) as llm:
        config = _config(tmp_path, llm.url)
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from runtime.cli import main; sys.exit(main())",
             "run", "t", "-c", str(config), "--json", "--tool-timeout", "1"],
            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    data = json.loads(proc.stdout)
    assert data["answer"] == "final"
    assert data["servers"][0]["restarts"] >= 1  # the hung server was restarted, and said so
