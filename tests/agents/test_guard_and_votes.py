"""The autonomy guard's detector (a pure function)."""

from __future__ import annotations

import pytest

from runtime.autonomy import asks_user


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
