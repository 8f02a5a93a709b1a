"""Autonomy with a real model: how many final answers ask the user, with and without the
prompts and the guard.

Runs a set of tasks that invite follow-up questions (ambiguous requests, missing data,
choices between options, offers of more work) against any OpenAI-compatible endpoint
(`mgx model serve`, vLLM, llama.cpp, a hosted API), in up to four configurations:

* ``bare``: a neutral system prompt ("You are a helpful assistant."), no guard;
* ``prompts``: mgx's ``DEFAULT_SYSTEM_PROMPT`` (runtime/prompts.py), no guard;
* ``guard``: the neutral prompt, with the autonomy guard and its one repair turn;
* ``prompts+guard``: both (what ``mgx agent`` does).

An answer "asks" when ``runtime.autonomy.asks_user`` fires on the final (kept) answer. The
detector is therefore also the judge: every answer is written to ``--out`` (JSONL) so that a
person can label them and check the count. Prints a Markdown table for docs/benchmarks.md.

Run, e.g. on a GPU machine with a model served by ``mgx model serve``::

    .venv/bin/python benchmarks/autonomy_real_model.py --base-url http://127.0.0.1:8000/v1 \\
        --model Qwen/Qwen2.5-7B-Instruct --repeats 3 --out autonomy_answers.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runtime.agent import Agent, AgentConfig  # noqa: E402
from runtime.autonomy import asks_user  # noqa: E402
from runtime.client import ChatClient  # noqa: E402
from runtime.prompts import DEFAULT_SYSTEM_PROMPT  # noqa: E402
from runtime.runner import guard_agent_answer  # noqa: E402

NEUTRAL_PROMPT = "You are a helpful assistant."
CONFIGS = ("bare", "prompts", "guard", "prompts+guard")

# Tasks a helpful chat model tends to answer with a question or an offer.
TASKS: tuple[tuple[str, str], ...] = (
    ("ambiguous", "Convert the meeting time to my timezone."),
    ("ambiguous", "Summarise the report."),
    ("ambiguous", "Fix the bug in my function."),
    ("ambiguous", "Write a short bio for me."),
    ("ambiguous", "What's the best database?"),
    ("missing-data", "Book me a flight to Lisbon next week."),
    ("missing-data", "Calculate my monthly mortgage payment."),
    ("missing-data", "Fill in the visa application form for me."),
    ("missing-data", "How much tax will I pay this year?"),
    ("missing-data", "Draft a reply to the customer's last email."),
    ("options", "Should I use PostgreSQL or MongoDB for my new app?"),
    ("options", "Plan a three-day trip to Japan."),
    ("options", "Pick a name for my startup."),
    ("options", "Give me a workout plan."),
    ("options", "Choose a charting library for our dashboard."),
    ("follow-up", "Explain how HTTPS works."),
    ("follow-up", "Write a Python function that deduplicates a list."),
    ("follow-up", "List five ideas for a team offsite."),
    ("follow-up", "Write a cover letter for a data analyst job."),
    ("follow-up", "Translate 'good morning' into Spanish, French and German."),
    ("es", "Resume el documento que te envié."),
    ("fr", "Organise une réunion avec l'équipe la semaine prochaine."),
    ("de", "Schreib eine E-Mail an meinen Vermieter."),
    ("pt", "Monte um orçamento para a minha festa."),
    ("zh", "帮我写一份项目周报。"),
    ("ja", "来週の会議の議事録を作成してください。"),
)


@dataclass
class Run:
    config: str
    kind: str
    task: str
    answer: str
    asks: str | None
    guard: dict[str, Any] | None
    seconds: float


async def one(client: ChatClient, config: str, kind: str, task: str, max_tokens: int) -> Run:
    prompt = DEFAULT_SYSTEM_PROMPT if "prompts" in config else NEUTRAL_PROMPT
    agent = Agent(
        client,
        config=AgentConfig(system_prompt=prompt, max_steps=2, max_tokens=max_tokens,
                           temperature=0.7),
    )  # fmt: skip
    t0 = time.perf_counter()
    result = await agent.run(task)
    answer, guard = result.final_text, None
    if "guard" in config:
        outcome, _ = await guard_agent_answer(agent, result)
        answer, guard = outcome.text, outcome.to_json()
    return Run(config, kind, task, answer, asks_user(answer), guard, time.perf_counter() - t0)


async def main_async(opts: argparse.Namespace) -> list[Run]:
    configs = [c for c in CONFIGS if c in opts.configs]
    jobs = [(c, k, t) for _ in range(opts.repeats) for c in configs for k, t in TASKS]
    limit = asyncio.Semaphore(opts.concurrency)
    async with ChatClient(opts.base_url, opts.model, api_key=opts.api_key, timeout=300) as client:

        async def guarded(job: tuple[str, str, str]) -> Run:
            async with limit:
                return await one(client, *job, max_tokens=opts.max_tokens)

        return list(await asyncio.gather(*(guarded(j) for j in jobs)))


def report(runs: list[Run], model: str) -> str:
    lines = [
        f"Model `{model}`, {len({r.task for r in runs})} tasks inviting follow-up questions:",
        "",
        "| configuration | answers | asking (asks_user) | guard fired | kept after repair |",
        "|---|---|---|---|---|",
    ]
    for config in CONFIGS:
        rs = [r for r in runs if r.config == config]
        if not rs:
            continue
        asking = sum(r.asks is not None for r in rs)
        fired = sum(bool(r.guard and r.guard["fired"]) for r in rs)
        kept = Counter(str(r.guard["kept"]) for r in rs if r.guard and r.guard["fired"])
        kept_s = ", ".join(f"{k} {v}" for k, v in sorted(kept.items())) or "-"
        fired_s = str(fired) if "guard" in config else "-"
        lines.append(f"| {config} | {len(rs)} | {asking} | {fired_s} | {kept_s} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="OpenAI-compatible API root (…/v1)")
    parser.add_argument("--model", required=True, help="model name the endpoint serves")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--repeats", type=int, default=1, help="runs of every task per config")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=800)
    parser.add_argument(
        "--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS, help="which to run"
    )
    parser.add_argument("--out", type=Path, default=None, help="write every answer (JSONL)")
    opts = parser.parse_args(argv)
    if opts.repeats < 1 or opts.concurrency < 1:
        parser.error("--repeats and --concurrency must be at least 1")
    runs = asyncio.run(main_async(opts))
    if opts.out is not None:
        with opts.out.open("w", encoding="utf-8") as fh:
            for r in runs:
                fh.write(json.dumps(r.__dict__, ensure_ascii=False) + "\n")
    print(report(runs, opts.model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
