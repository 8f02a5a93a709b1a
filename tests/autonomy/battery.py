"""The autonomy battery: final answers labelled ``asks`` or ``clean``, in seven languages.

``tests/data/autonomy/dev.jsonl`` is the development split (the detector was tuned on it);
``heldout.jsonl`` was written and committed before the detector and kept out of its tuning
(see ``docs/benchmarks.md``). One JSON object a line: ``id``, ``split``, ``lang``, ``label``,
``kind`` (what the case exercises) and ``text``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "autonomy"
SPLITS = ("dev", "heldout")
LANGUAGES = ("en", "es", "fr", "de", "pt", "zh", "ja")


@dataclass(frozen=True)
class Case:
    id: str
    split: str
    lang: str
    label: str
    kind: str
    text: str

    @property
    def asks(self) -> bool:
        return self.label == "asks"


def load(split: str | None = None) -> list[Case]:
    """The cases of one split, or of both."""
    cases: list[Case] = []
    for name in SPLITS if split is None else (split,):
        for line in (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                cases.append(Case(**json.loads(line)))
    return cases


@dataclass(frozen=True)
class Score:
    recall: float
    false_positive_rate: float
    missed: tuple[str, ...]
    false_alarms: tuple[str, ...]


def score(cases: list[Case], verdicts: list[bool]) -> Score:
    """Recall on the asking cases and false-positive rate on the clean ones."""
    asking = [c for c, v in zip(cases, verdicts, strict=True) if c.asks]
    hits = [v for c, v in zip(cases, verdicts, strict=True) if c.asks]
    alarms = [v for c, v in zip(cases, verdicts, strict=True) if not c.asks]
    missed = tuple(c.id for c, v in zip(cases, verdicts, strict=True) if c.asks and not v)
    false = tuple(c.id for c, v in zip(cases, verdicts, strict=True) if not c.asks and v)
    return Score(
        recall=sum(hits) / len(asking) if asking else 1.0,
        false_positive_rate=sum(alarms) / len(alarms) if alarms else 0.0,
        missed=missed,
        false_alarms=false,
    )
