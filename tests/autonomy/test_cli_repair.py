"""The guard and its repair turn for a single agent, end to end: ``mgx agent`` (in process)
against the scripted OpenAI-compatible server."""

from __future__ import annotations

import json

from runtime.cli import main
from runtime.prompts import DEFAULT_SYSTEM_PROMPT, REPROMPT
from tests.scripted_llm import Reply, ScriptedLLM

FIRST = (
    "Your invoice total is EUR 1,210 (EUR 1,000 plus 21% VAT).\n\n"
    "If you'd like, I can also draft the payment reminder email."
)
CLEAN_REPAIR = "Your invoice total is EUR 1,210 (EUR 1,000 plus 21% VAT, the Dutch rate)."


def run_json(capsys, llm: ScriptedLLM) -> dict:
    code = main(["agent", "What is the invoice total?", "--model", llm.url, "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    return json.loads(out)


def test_an_asking_answer_is_repaired_in_one_more_turn(capsys):
    with ScriptedLLM([Reply(content=FIRST), Reply(content=CLEAN_REPAIR)]) as llm:
        data = run_json(capsys, llm)
    assert data["answer"] == CLEAN_REPAIR
    guard = data["guard"]
    assert (guard["fired"], guard["repaired"], guard["kept"]) == (True, True, "repaired")
    assert "If you'd like, I can also draft" in guard["matched"]
    # The repair continued the agent's own conversation with the repair instruction.
    first, second = llm.requests
    assert second["messages"][0]["content"] == DEFAULT_SYSTEM_PROMPT
    assert second["messages"][-2] == {"role": "assistant", "content": FIRST}
    assert second["messages"][-1] == {"role": "user", "content": REPROMPT}
    assert first["messages"] == second["messages"][: len(first["messages"])]
    # Both turns are counted; the repair turn is reported.
    assert data["usage"]["model_calls"] == 2
    assert data["repair"]["final_text"] == CLEAN_REPAIR


def test_when_the_repair_still_asks_the_better_answer_is_kept(capsys):
    still = "Which country's VAT should I use?"
    with ScriptedLLM([Reply(content=FIRST), Reply(content=still)]) as llm:
        data = run_json(capsys, llm)
    assert data["answer"] == "Your invoice total is EUR 1,210 (EUR 1,000 plus 21% VAT)."
    guard = data["guard"]
    assert guard["kept"] == "original-trimmed"
    assert "Which country's VAT should I use?" in guard["still_asking"]
    assert "first answer" in guard["why"]


def test_a_clean_answer_costs_no_extra_turn(capsys):
    with ScriptedLLM([Reply(content=CLEAN_REPAIR)]) as llm:
        data = run_json(capsys, llm)
    assert len(llm.requests) == 1
    assert data["guard"] == {
        "fired": False,
        "matched": None,
        "repaired": False,
        "still_asking": None,
        "kept": "original",
        "why": "the answer asks nothing",
        "repair_error": None,
        "judge": None,
    }


def test_text_mode_says_what_the_guard_did_in_one_line_on_stderr(capsys):
    with ScriptedLLM([Reply(content=FIRST), Reply(content=CLEAN_REPAIR)]) as llm:
        code = main(["agent", "What is the invoice total?", "--model", llm.url])
    out, err = capsys.readouterr()
    assert code == 0
    assert out == CLEAN_REPAIR + "\n"
    guard_lines = [ln for ln in err.splitlines() if ln.startswith("autonomy guard:")]
    assert len(guard_lines) == 1
    assert "fired" in guard_lines[0] and "kept the repaired answer" in guard_lines[0]


def test_a_clean_answer_prints_no_guard_line(capsys):
    with ScriptedLLM([Reply(content=CLEAN_REPAIR)]) as llm:
        code = main(["agent", "What is the invoice total?", "--model", llm.url])
    _, err = capsys.readouterr()
    assert code == 0 and "autonomy guard" not in err
