"""The optional second opinion: a model's constrained JSON verdict on borderline answers,
end to end through ``mgx agent --judge`` against the scripted server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from runtime.autonomy import asks_user, find_asking, open_question, parse_verdict
from runtime.cli import main
from runtime.prompts import JUDGE_INSTRUCTIONS, REPROMPT
from tests.scripted_llm import Reply, ScriptedLLM

POEM = (
    "Here is the short poem you asked for.\n\n"
    "The tide goes out, the gulls are loud,\nDo you hear the sea?"
)
OPEN = "The plan is ready. The one open point is the budget: which figure applies, 10k or 20k?"
FIXED = "The plan is ready; it assumes the 10k budget, the figure in the last approved plan."


def model(answer: str, verdict: str | None) -> Callable[[dict[str, Any]], Reply]:
    """The agent answers ``answer``, is repaired to FIXED, and judges with ``verdict``."""

    def script(body: dict[str, Any]) -> Reply:
        if "response_format" in body:
            assert body["messages"][0]["content"] == JUDGE_INSTRUCTIONS
            assert body["response_format"]["json_schema"]["name"] == "autonomy_verdict"
            return Reply(content=verdict)
        if body["messages"][-1]["content"] == REPROMPT:
            return Reply(content=FIXED)
        return Reply(content=answer)

    return script


def run(capsys, llm: ScriptedLLM, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["agent", "task", "--model", llm.url, "--json", "--judge", *extra])
    out, _ = capsys.readouterr()
    return code, json.loads(out) if out else {}


def test_the_cases_are_borderline_for_the_offline_detector():
    assert [f.strong for f in find_asking(POEM)] == [False]  # only a closing question
    assert asks_user(OPEN) is None and open_question(OPEN) is not None


def test_a_judge_that_sees_content_overrules_a_weak_finding(capsys):
    verdict = '{"asks_user": false, "quote": ""}'
    with ScriptedLLM(default=model(POEM, verdict)) as llm:
        code, data = run(capsys, llm)
    assert code == 0
    assert data["answer"] == POEM
    assert data["guard"]["fired"] is False
    assert data["guard"]["judge"] == {"asks_user": False, "quote": ""}
    assert len(llm.requests) == 2  # the answer and the verdict; no repair turn


def test_a_judge_that_sees_a_question_makes_the_guard_fire(capsys):
    quote = "The one open point is the budget: which figure applies, 10k or 20k?"
    verdict = json.dumps({"asks_user": True, "quote": quote})
    with ScriptedLLM(default=model(OPEN, verdict)) as llm:
        code, data = run(capsys, llm)
    assert code == 0
    assert data["answer"] == FIXED
    guard = data["guard"]
    assert (guard["fired"], guard["kept"]) == (True, "repaired")
    assert quote in guard["matched"] and guard["judge"]["asks_user"] is True
    assert len(llm.requests) == 3


@pytest.mark.parametrize(
    "verdict",
    ["I think it asks.", '{"asks_user": true, "quote": "a sentence that is not there"}'],
)
def test_an_unusable_verdict_leaves_the_offline_one_standing(capsys, verdict):
    with ScriptedLLM(default=model(POEM, verdict)) as llm:
        code, data = run(capsys, llm)
    assert code == 0
    assert data["guard"]["fired"] is True and data["guard"]["judge"] is None
    assert data["answer"] == FIXED


def test_judge_is_refused_for_a_team(capsys):
    code = main(["agent", "task", "--model", "http://127.0.0.1:9/v1", "--agents", "2", "--judge"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "--judge applies to a single agent" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"asks_user": false, "quote": ""}', (False, "")),
        ('```json\n{"asks_user": true, "quote": "Which one?"}\n```', (True, "Which one?")),
        ('{"asks_user": true, "quote": ""}', None),  # asking needs its evidence
        ('{"asks_user": "yes", "quote": ""}', None),
        ("[1, 2]", None),
        ("", None),
    ],
)
def test_parse_verdict(raw, expected):
    verdict = parse_verdict(raw, "Done.\n\nWhich one?")
    assert (None if verdict is None else (verdict.asks_user, verdict.quote)) == expected
