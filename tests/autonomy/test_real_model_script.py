"""``benchmarks/autonomy_real_model.py`` runs end to end against the scripted server (so it
is ready for a GPU): a model that asks unless told nobody will reply, and that stops asking
when repaired."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from runtime.prompts import REPROMPT
from tests.scripted_llm import Reply, ScriptedLLM

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "autonomy_real_model.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("autonomy_real_model", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _model(body: dict[str, Any]) -> Reply:
    messages = body["messages"]
    if messages[-1]["content"] == REPROMPT:
        return Reply(content="Assuming the most common case, here is the complete answer.")
    if "Nobody will read" in messages[0]["content"]:
        return Reply(content="Assuming UTC, the answer is complete.")
    return Reply(content="Here is a start. Would you like me to add more detail?")


def test_the_script_counts_asking_answers_per_configuration(tmp_path, capsys):
    script = _load()
    out = tmp_path / "answers.jsonl"
    with ScriptedLLM(default=_model) as llm:
        code = script.main(["--base-url", llm.url, "--model", "scripted", "--out", str(out)])
    table = capsys.readouterr().out
    assert code == 0
    n = len(script.TASKS)
    rows = {
        line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ")
    }
    assert f"| bare | {n} | {n} | - | - |" in table
    assert f"| prompts | {n} | 0 | - | - |" in table
    assert f"| guard | {n} | 0 | {n} | repaired {n} |" in table
    assert f"| prompts+guard | {n} | 0 | 0 | - |" in table
    assert len(rows) == 5  # header and four configurations
    answers = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(answers) == 4 * n and {a["config"] for a in answers} == set(script.CONFIGS)
