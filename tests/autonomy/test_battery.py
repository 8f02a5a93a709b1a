"""The offline detector on the whole battery: recall >= 97%, false positives <= 3%, per split."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.autonomy import asks_user, find_asking, strip_asking

from .battery import LANGUAGES, SPLITS, load, score


def test_the_battery_covers_every_language_both_labels_and_both_splits():
    cases = load()
    assert len(cases) >= 200
    assert len({c.id for c in cases}) == len(cases)
    for split in SPLITS:
        for lang in LANGUAGES:
            for label in ("asks", "clean"):
                assert any(
                    c.split == split and c.lang == lang and c.label == label for c in cases
                ), (split, lang, label)


@pytest.mark.parametrize("split", SPLITS)
def test_recall_and_false_positive_rate_meet_the_targets(split):
    cases = load(split)
    result = score(cases, [asks_user(c.text) is not None for c in cases])
    assert result.recall >= 0.97, f"missed: {result.missed}"
    assert result.false_positive_rate <= 0.03, f"false alarms: {result.false_alarms}"


def test_the_reason_quotes_the_asking_sentence_from_the_answer():
    for case in load("dev"):
        if not case.asks:
            continue
        found = find_asking(case.text)
        assert found, case.id
        first = found[0]
        assert case.text[first.start : first.end].startswith(first.quote[:40])
        reason = asks_user(case.text)
        assert reason is not None and first.quote[:40] in reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Revenue rose 9% to EUR 4.1m; costs were flat.\n\nIf you'd like, I can also chart it.",
            "Revenue rose 9% to EUR 4.1m; costs were flat.",
        ),
        (
            "Report done: sales up 4%.\n\nI have a few questions:\n\n1. Which region?\n"
            "2. Which year?\n\nFigures are in EUR.",
            "Report done: sales up 4%.\n\nFigures are in EUR.",
        ),
        ("Which format do you want, CSV or JSON?", None),  # nothing would remain
        ("Let me know which one you want.", None),
        ("The answer is 42.", "The answer is 42."),  # nothing to strip
    ],
)
def test_strip_asking_keeps_a_standalone_answer_only(text, expected):
    assert strip_asking(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_the_detector_never_fails_on_arbitrary_text(text):
    reason = asks_user(text)
    assert reason is None or isinstance(reason, str)
    stripped = strip_asking(text)
    assert stripped is None or asks_user(stripped) is None
