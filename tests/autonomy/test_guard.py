"""``guard_final_answer``: which answer is kept, and what the outcome records.

The repair turn here is a plain coroutine standing in for "one more turn of the agent" (the
guard's own parameter, not a patched function); the end-to-end repair through a model is in
``test_cli_repair.py``.
"""

from __future__ import annotations

from runtime.autonomy import REPROMPT, guard_final_answer

ASKING = "The totals are EUR 1,210 for March and EUR 980 for April.\n\nWant me to add May too?"
ONLY_ASKING = "Which month do you mean, March or April?"


def turn(reply: str, seen: list[str] | None = None):
    async def repair(instruction: str) -> str:
        if seen is not None:
            seen.append(instruction)
        return reply

    return repair


async def test_a_clean_answer_is_kept_and_no_repair_runs():
    seen: list[str] = []
    outcome = await guard_final_answer("The total is EUR 1,210.", turn("x", seen))
    assert (outcome.fired, outcome.repaired, outcome.kept, seen) == (False, False, "original", [])
    assert outcome.text == "The total is EUR 1,210."


async def test_a_clean_repair_replaces_the_asking_answer():
    seen: list[str] = []
    fixed = "Assuming both months were meant: March EUR 1,210, April EUR 980."
    outcome = await guard_final_answer(ASKING, turn(fixed, seen))
    assert seen == [REPROMPT]
    assert (outcome.fired, outcome.repaired, outcome.kept) == (True, True, "repaired")
    assert outcome.text == fixed
    assert outcome.matched is not None and "Want me to add May too?" in outcome.matched
    assert outcome.to_json()["still_asking"] is None


async def test_a_repair_that_still_asks_is_trimmed_when_the_rest_stands():
    again = "Assuming calendar months: March EUR 1,210.\n\nShall I also do April?"
    outcome = await guard_final_answer(ASKING, turn(again))
    assert outcome.kept == "repaired-trimmed"
    assert outcome.text == "Assuming calendar months: March EUR 1,210."
    assert outcome.still_asking is not None and "Shall I also do April?" in outcome.still_asking


async def test_when_the_repair_only_asks_the_first_answer_without_its_question_is_kept():
    outcome = await guard_final_answer(ASKING, turn(ONLY_ASKING))
    assert outcome.kept == "original-trimmed"
    assert outcome.text == "The totals are EUR 1,210 for March and EUR 980 for April."
    assert "first answer" in outcome.why


async def test_when_nothing_can_be_trimmed_the_answer_with_more_content_is_kept():
    first = "Could you tell me which month?"
    second = "Noted. Which month do you mean?"  # "Noted." is too little to stand alone
    outcome = await guard_final_answer(first, turn(second))
    assert (outcome.kept, outcome.text) == ("repaired", second)
    assert outcome.still_asking is not None and "more of an answer" in outcome.why
    outcome = await guard_final_answer(second, turn(first))
    assert (outcome.kept, outcome.text) == ("original", second)


async def test_a_failed_repair_turn_is_recorded_and_the_first_answer_kept():
    async def broken(_instruction: str) -> str:
        raise ConnectionError("endpoint went away")

    outcome = await guard_final_answer(ASKING, broken)
    assert outcome.repair_error == "endpoint went away"
    assert outcome.kept == "original-trimmed"
    assert outcome.text.startswith("The totals are EUR 1,210")
    assert "repair turn failed" in outcome.summary()


async def test_without_a_repair_turn_the_answer_is_trimmed_or_kept():
    outcome = await guard_final_answer(ONLY_ASKING, None)
    assert (outcome.fired, outcome.repaired, outcome.kept) == (True, False, "original")
    assert outcome.text == ONLY_ASKING
