"""Autonomy guard benchmark: recall, false positives and cost of ``asks_user`` on the battery.

Reads ``tests/data/autonomy/{dev,heldout}.jsonl`` and reports, per split and per language,
recall on the asking answers and the false-positive rate on the legitimate ones, next to the
detector mgx shipped before (a regular-expression list plus "the last line ends with ?",
kept below as ``baseline`` so the comparison can be rerun). Then the time per answer: every
battery answer, and long answers (twenty battery answers joined), timed over many rounds.

Run: ``.venv/bin/python benchmarks/autonomy_bench.py [--rounds 200]``; prints Markdown for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runtime.autonomy import asks_user  # noqa: E402
from tests.autonomy.battery import LANGUAGES, SPLITS, Case, load, score  # noqa: E402

# -- the detector before issue 10, verbatim, for comparison ---------------------------------
_REQUESTS = [
    r"\b(could|can|would|will) you (please )?(clarify|specify|confirm|provide|share|tell me|"
    r"let me know|explain what|indicate|elaborate)\b",
    r"\bplease (clarify|specify|confirm|provide (more|additional|the)|"
    r"let me know (which|what|whether|if you))",
    r"\b(i|we) (need|require|would need) (more|additional|some|further) "
    r"(information|details|context|clarification)\b",
    r"\bbefore (i|we) (proceed|continue|start|go (on|ahead)|answer)\b.*\?",
    r"\b(do|would) you (want|like|prefer) (me|us) to\b",
    r"\bwhich (one|option|of these|of the following) (do|would|should) you\b",
    r"\b(shall|should) i (proceed|continue|go ahead)\b",
    r"\b(awaiting|waiting for) your (reply|response|input|confirmation)\b",
    r"\bcould you clarify\b",
    r"\bwhat (exactly )?do you mean\b",
]
_REQUEST_RE = re.compile("|".join(f"(?:{p})" for p in _REQUESTS), re.IGNORECASE | re.DOTALL)
_CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)


def baseline(text: str) -> str | None:
    prose = _CODE_BLOCK.sub(" ", text or "").strip()
    if not prose:
        return None
    match = _REQUEST_RE.search(prose)
    if match:
        return match.group(0)
    last = next((ln.strip() for ln in reversed(prose.splitlines()) if ln.strip()), "")
    return last if last.rstrip("*_ )\"'").endswith("?") else None


# -- figures --------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _row(name: str, cases: list[Case], detector: Callable[[str], str | None]) -> str:
    s = score(cases, [detector(c.text) is not None for c in cases])
    n_ask = sum(c.asks for c in cases)
    n_clean = len(cases) - n_ask
    hits = n_ask - len(s.missed)
    return (
        f"| {name} | {len(cases)} | {_pct(s.recall)} ({hits}/{n_ask}) | "
        f"{_pct(s.false_positive_rate)} ({len(s.false_alarms)}/{n_clean}) |"
    )


def _timing(texts: list[str], rounds: int) -> tuple[float, float, float]:
    """Median and 99th percentile CPU microseconds per call, and median wall microseconds,
    over ``rounds`` passes. CPU time (``thread_time``) leaves out the time the process sat
    preempted, which on a shared machine is most of the wall-clock tail."""
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(rounds):
        for text in texts:
            c0, t0 = time.thread_time(), time.perf_counter()
            asks_user(text)
            wall.append((time.perf_counter() - t0) * 1e6)
            cpu.append((time.thread_time() - c0) * 1e6)
    cpu.sort()
    return statistics.median(cpu), cpu[int(0.99 * (len(cpu) - 1))], statistics.median(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="timing passes over the battery")
    opts = parser.parse_args()
    out = ["## Autonomy guard (issue 10)", ""]
    for label, detector in (("structural detector (now)", asks_user), ("baseline", baseline)):
        out += [
            f"**{label}**",
            "",
            "| split | cases | recall | false positives |",
            "|---|---|---|---|",
        ]
        for split in SPLITS:
            out.append(_row(split, load(split), detector))
        out.append("")
    out += ["Per language, structural detector (dev / held-out):", ""]
    out += [
        "| language | recall dev | FP dev | recall held-out | FP held-out |",
        "|---|---|---|---|---|",
    ]
    for lang in LANGUAGES:
        cells = []
        for split in SPLITS:
            cases = [c for c in load(split) if c.lang == lang]
            s = score(cases, [asks_user(c.text) is not None for c in cases])
            cells += [_pct(s.recall), _pct(s.false_positive_rate)]
        out.append(f"| {lang} | " + " | ".join(cells) + " |")
    texts = [c.text for c in load()]
    long_texts = ["\n\n".join(texts[i : i + 20]) for i in range(0, len(texts) - 20, 20)]
    med, p99, wall = _timing(texts, opts.rounds)
    lmed, lp99, lwall = _timing(long_texts, max(1, opts.rounds // 10))
    avg_len = statistics.mean(len(t) for t in texts)
    long_len = statistics.mean(len(t) for t in long_texts)
    out += [
        "",
        "| answers | count | mean length | CPU median | CPU p99 | wall median |",
        "|---|---|---|---|---|---|",
        f"| battery answers ({opts.rounds} passes) | {len(texts)} | {avg_len:.0f} chars | "
        f"{med:.0f} µs | {p99:.0f} µs | {wall:.0f} µs |",
        f"| long: 20 battery answers joined ({max(1, opts.rounds // 10)} passes) | "
        f"{len(long_texts)} | {long_len:.0f} chars | {lmed:.0f} µs | {lp99:.0f} µs | "
        f"{lwall:.0f} µs |",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
