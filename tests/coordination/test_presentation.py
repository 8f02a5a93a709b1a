"""Presentation: planning mode, tools in the presentation, and the autonomy guard."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from runtime.autonomy import REPROMPT
from runtime.coordination import CoordinationOptions, coordinate
from tests.scripted_llm import Reply, ScriptedLLM, call

from .conftest import answers_in, members_for, new_answer, presenting, vote


def _tool_names(body: dict[str, Any]) -> set[str]:
    return {t["function"]["name"] for t in body.get("tools", [])}


def _note_writer(note: Path):
    """Checks a fact with the read-only tool, answers, votes; presents by writing a note."""

    def script(body: dict[str, Any]) -> Reply:
        last = body["messages"][-1]
        if presenting(body):
            if last["role"] == "tool":
                return Reply(content="Paris. The note is written.")
            return Reply(
                tool_calls=[call("notes__write_note", {"path": str(note), "text": "Paris"})]
            )
        if last["role"] == "user" and "notes__lookup" in _tool_names(body):
            return Reply(tool_calls=[call("notes__lookup", {"key": "capital_of_france"})])
        answers = answers_in(body)
        if not answers:
            return new_answer(f"Paris (lookup said: {last['content'][:40]})")
        return vote("agent1")

    return script


async def test_planning_mode_withholds_side_effects_until_the_presentation(notes_hub, tmp_path):
    note = tmp_path / "note.txt"
    with ScriptedLLM(default=_note_writer(note)) as server:
        async with AsyncExitStack() as stack:
            result = await coordinate(
                "Capital of France? Write it to a note.",
                await members_for(stack, [server]),
                hub=notes_hub,
                options=CoordinationOptions(planning=True),
            )
        coordinating = [r for r in server.requests if not presenting(r)]
        presenting_requests = [r for r in server.requests if presenting(r)]
    # Only the read-only tool while coordinating (the unannotated one counts as side-effecting).
    for body in coordinating:
        assert _tool_names(body) - {"new_answer", "vote"} == {"notes__lookup"}
    # The presenter gets every tool (and no workflow tools), and used one.
    assert _tool_names(presenting_requests[0]) == {
        "notes__count",
        "notes__lookup",
        "notes__write_note",
    }
    assert note.read_text() == "Paris"
    assert result.answer == "Paris. The note is written."
    assert "Paris (lookup said: Paris)" in result.answers[0].content
    assert result.usage.tool_calls == 3  # a lookup in each of the two rounds, then the note


async def test_without_planning_mode_every_tool_is_offered(notes_hub, tmp_path):
    with ScriptedLLM(default=_note_writer(tmp_path / "n.txt")) as server:
        async with AsyncExitStack() as stack:
            await coordinate("t", await members_for(stack, [server]), hub=notes_hub)
        assert "notes__write_note" in _tool_names(server.requests[0])


async def test_listed_tools_are_withheld_whatever_their_annotations(notes_hub, tmp_path):
    with ScriptedLLM(default=_note_writer(tmp_path / "n.txt")) as server:
        async with AsyncExitStack() as stack:
            result = await coordinate(
                "t",
                await members_for(stack, [server]),
                hub=notes_hub,
                options=CoordinationOptions(planning=True, side_effect_tools=("notes/lookup",)),
            )
        first = server.requests[0]
    assert _tool_names(first) == {"new_answer"}
    assert result.usage.tool_calls == 1  # only the presenter's note


async def test_a_final_answer_that_asks_the_user_is_caught_and_repaired():
    def script(body: dict[str, Any]) -> Reply:
        if presenting(body):
            if body["messages"][-1]["content"] == REPROMPT:
                return Reply(content="The answer is 4. Assumption: integer addition.")
            return Reply(content="The answer is 4. Would you like me to explain the addition?")
        return new_answer("4") if not answers_in(body) else vote("agent1")

    with ScriptedLLM(default=script) as server:
        async with AsyncExitStack() as stack:
            result = await coordinate("What is 2 + 2?", await members_for(stack, [server]))
        repair_request = server.requests[-1]
    assert result.answer == "The answer is 4. Assumption: integer addition."
    guard = result.guard.to_json()
    assert guard["fired"] and guard["repaired"] and guard["kept"] == "repaired"
    assert "Would you like me to" in str(guard["matched"])
    assert repair_request["messages"][-2]["content"].endswith("explain the addition?")
    assert result.to_json()["guard"] == guard


async def test_a_failed_presenter_leaves_the_winning_answer():
    def script(body: dict[str, Any]) -> Any:
        if presenting(body):
            return Reply(content=None, tool_calls=[call("nope", {})])  # loops to max_steps
        return new_answer("the winning answer") if not answers_in(body) else vote("agent1")

    with ScriptedLLM(default=script) as server:
        async with AsyncExitStack() as stack:
            result = await coordinate(
                "t", await members_for(stack, [server]), options=CoordinationOptions(max_steps=2)
            )
    assert result.answer == "the winning answer"
    assert result.presenter_error and "max-steps 2" in result.presenter_error
