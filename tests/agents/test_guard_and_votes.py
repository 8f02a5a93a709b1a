"""The autonomy guard's detector and the lenient vote parser (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.autonomy import asks_user
from runtime.team import parse_vote


@pytest.mark.parametrize(
    "text",
    [
        "Could you clarify which timezone you mean?",
        "The time is 12:00 UTC. Would you like me to convert it to another zone?",
        "Do you want the result in Celsius or Fahrenheit?",
        "I need more information about the file before answering.",
        "Please specify the date range.",
        "Here is a draft.\n\nShall I proceed with the full report",
        "Which of these options would you prefer?",
        "Two readings are possible.\n\n**Which one did you mean?**",
        "Awaiting your confirmation.",
    ],
)
def test_questions_to_the_user_are_caught(text):
    assert asks_user(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "The answer is 42.",
        "Why does this work? Because addition is associative. The sum is 7.",
        "Assuming UTC (no zone was given), the time is 12:00.",
        "Result:\n```python\nx = input('what?')\n```\nThe script asks for input at run time.",
        "",
        "Q: what is 2+2?\nA: 4",
    ],
)
def test_plain_answers_pass(text):
    assert asks_user(text) is None


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"best": 2, "reason": "complete"}', 2),
        ('```json\n{"best": "3", "reason": "x"}\n```', 3),
        ('I compared them. {"vote": 1, "reason": "right"} Done.', 1),
        ("Answer 2 is the most complete.", 2),
        ("3", 3),
        ('{"best": 7, "reason": "out of range"}', None),
        ('{"best": true}', None),
        ("I cannot decide.", None),
        ("{not json at all", None),
        ("", None),
    ],
)
def test_parse_vote(reply, expected):
    number, reason = parse_vote(reply, 3)
    assert number == expected
    if expected is None:
        assert reason


@given(st.text(max_size=300), st.integers(min_value=1, max_value=8))
def test_parse_vote_never_raises_and_stays_in_range(reply, count):
    number, _ = parse_vote(reply, count)
    assert number is None or 1 <= number <= count
