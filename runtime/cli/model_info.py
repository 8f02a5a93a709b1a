"""`mgx model list | status | stats | gpus`: what runs, whether it is healthy, how busy it is."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import typer

from runtime.cli._model_common import fmt_duration, fmt_float, fmt_pct, run, settings

if TYPE_CHECKING:
    from rich.table import Table

    from runtime.models.inventory import EndpointStats


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the ``mgx model`` group."""
    app.command("list", help="List managed models and registered external endpoints.")(list_)
    app.command("status", help="Process and /health status of every endpoint.")(status)
    app.command(
        "stats",
        help="Load of a model's endpoints from vLLM's /metrics: running and waiting requests, "
        "KV-cache usage, prefix-cache hit rate, time to first token, tokens per second.",
    )(stats)
    app.command("gpus", help="GPUs detected (NVML or nvidia-smi) and their free memory.")(gpus)


def list_(json_output: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    from marketplace.cli.output import emit_json, note, table
    from runtime.models.inventory import list_models

    entries = run(list_models(settings=settings()))
    if json_output:
        emit_json(entries)
        return
    if not entries:
        note("no models: `mgx model serve MODEL` or `mgx model add NAME --url URL --model M`")
        return
    table(
        ["name", "kind", "model", "endpoints", "up"],
        [
            (e.name, e.kind, e.model, " ".join(e.endpoints), f"{e.alive}/{len(e.endpoints)}")
            for e in entries
        ],
    )


def status(
    name: str | None = typer.Argument(None, help="Only this model (default: all)."),
    json_output: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    from marketplace.cli.output import emit_json, note, table
    from runtime.models.inventory import model_status

    rows = run(model_status(settings=settings(), name=name))
    if json_output:
        emit_json(rows)
        return
    if not rows:
        note("no models")
        return
    table(
        ["name", "url", "pid", "health", "uptime", "parser", "log"],
        [
            (
                r.name,
                r.url,
                r.pid or "-",
                "ok" if r.healthy else ("exited" if r.process_alive is False else "down"),
                fmt_duration(r.uptime_s),
                r.parser or "-",
                r.log_path or "-",
            )
            for r in rows
        ],
    )


def stats(
    name: str = typer.Argument(..., help="Model name or base URL."),
    watch: bool = typer.Option(False, "--watch", "-w", help="Refresh until interrupted."),
    interval: float = typer.Option(2.0, "--interval", help="Seconds between the two scrapes."),
    json_output: bool = typer.Option(
        False, "--json", help="Print as JSON (one object per line with --watch)."
    ),
) -> None:
    import json

    from marketplace.cli.output import emit_json, note, to_jsonable
    from runtime.models.inventory import collect_stats

    config = settings()
    if not watch:
        rows = run(collect_stats(name, settings=config, interval=min(interval, 1.0)))
        if json_output:
            emit_json(rows)
        else:
            _render(rows)
            for row in rows:
                if row.error:
                    note(f"mgx: {row.url}: {row.error}")
        if rows and all(r.stats is None for r in rows):
            from runtime.errors import ModelServerError

            raise ModelServerError(
                f"no endpoint of {name} could be read ({rows[0].error or 'no metrics'})"
            )
        return
    if json_output:
        while True:  # newline-delimited JSON; stops on Ctrl-C (exit 130 from main)
            rows = run(collect_stats(name, settings=config, interval=interval))
            print(json.dumps({"at": time.time(), "endpoints": to_jsonable(rows)}), flush=True)
    from rich.console import Console
    from rich.live import Live

    with Live(console=Console(), auto_refresh=False) as live:
        while True:
            rows = run(collect_stats(name, settings=config, interval=interval))
            live.update(_table(rows), refresh=True)


def gpus(json_output: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    from marketplace.cli.output import emit_json, note, table
    from runtime.models.gpu import GiB, detect_gpus

    report = detect_gpus()
    if json_output:
        emit_json(report)
        return
    if not report.gpus:
        note(f"no GPU: {report.detail}")
        return
    table(
        ["gpu", "name", "total", "free"],
        [
            (g.index, g.name, f"{g.total_bytes / GiB:.1f} GiB", f"{g.free_bytes / GiB:.1f} GiB")
            for g in report.gpus
        ],
        title=f"via {report.source}",
    )


_COLUMNS = ["url", "running", "waiting", "kv cache", "prefix hit", "ttft mean", "ttft p50",
            "prompt tok/s", "gen tok/s"]  # fmt: skip


def _cells(row: EndpointStats) -> list[str]:
    s = row.stats
    if s is None:  # the error is said below the table, not in a data column
        return [row.url, *["-"] * (len(_COLUMNS) - 1)]
    return [
        row.url,
        str(s.running),
        str(s.waiting),
        fmt_pct(s.kv_cache_usage),
        fmt_pct(s.prefix_cache_hit_rate),
        fmt_float(s.ttft_mean_s, ".3f", "s"),
        fmt_float(s.ttft_p50_s, ".3f", "s"),
        fmt_float(s.prompt_tokens_per_s, ".1f"),
        fmt_float(s.generation_tokens_per_s, ".1f"),
    ]


def _render(rows: Iterable[EndpointStats]) -> None:
    from marketplace.cli.output import table

    table(_COLUMNS, [_cells(r) for r in rows])


def _table(rows: Iterable[EndpointStats]) -> Table:
    from rich.table import Table

    t = Table(show_edge=False, header_style="bold", pad_edge=False)
    for column in _COLUMNS:
        t.add_column(column)
    for row in rows:
        t.add_row(*_cells(row))
    return t
