"""`mgx model pull | serve | stop | switch`: get a model and run it under vLLM."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

import typer

from runtime.cli._model_common import run, settings, show_progress, spinner

if TYPE_CHECKING:
    from runtime.models.serve import LaunchPlan


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the ``mgx model`` group."""
    app.command("pull", help="Download a Hugging Face model into mgx's models directory.")(pull)
    app.command(
        "serve",
        help="Start vLLM's OpenAI-compatible server for MODEL (a Hub id, a pulled model or a "
        "directory) as a managed background process; waits until /health answers. Arguments "
        "after `--` are passed to vLLM unchanged.",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(serve)
    app.command("stop", help="Stop a managed model server (SIGTERM, then SIGKILL).")(stop)
    app.command(
        "switch",
        help="Stop NAME and serve NEW_MODEL on the same host and port(s) with the same flags.",
    )(switch)


def pull(
    model: str = typer.Argument(..., help="Hugging Face id (org/name) or a local directory."),
    revision: str | None = typer.Option(None, "--revision", help="Branch, tag or commit."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    from marketplace.cli.output import emit_json, note
    from runtime.models.pull import pull_model

    result = pull_model(
        model, settings=settings(), revision=revision, progress=show_progress(json_output)
    )
    if json_output:
        emit_json(result)
        return
    verb = "local directory" if result.local else "pulled"
    note(f"{verb}: {result.model} -> {result.path} ({result.files} files, {_size(result.bytes)})")


def serve(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Hub id, pulled model, or local model directory."),
    name: str | None = typer.Option(
        None, "--name", help="Name to refer to it (default: from MODEL)."
    ),
    port: int | None = typer.Option(None, "--port", help="Port (default: first free from 8000)."),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to bind. Anything but loopback gets a generated API key.",
    ),
    python: str | None = typer.Option(
        None,
        "--python",
        envvar="MGX_VLLM_PYTHON",
        help="Python of the environment where vLLM is installed (default: this one).",
    ),
    gpu_memory_utilization: float | None = typer.Option(
        None, "--gpu-memory-utilization", help="Fraction of each GPU's memory vLLM may take."
    ),
    tensor_parallel_size: int | None = typer.Option(
        None, "--tensor-parallel-size", "--tp", help="GPUs to shard each layer over."
    ),
    pipeline_parallel_size: int | None = typer.Option(
        None, "--pipeline-parallel-size", "--pp", help="Pipeline stages (GPUs or nodes)."
    ),
    max_model_len: int | None = typer.Option(None, "--max-model-len", help="Context length."),
    max_num_seqs: int | None = typer.Option(
        None, "--max-num-seqs", help="Most sequences batched at once."
    ),
    dtype: str | None = typer.Option(None, "--dtype", help="Weights dtype (auto, bfloat16, ...)."),
    enable_lora: bool = typer.Option(
        False, "--enable-lora", help="Allow LoRA adapters, loadable at runtime."
    ),
    enable_prefix_caching: bool = typer.Option(
        False, "--enable-prefix-caching", help="Force vLLM's automatic prefix caching on."
    ),
    enable_sleep_mode: bool = typer.Option(
        False, "--enable-sleep-mode", help="Allow `mgx model sleep` / `wake` (CUDA only)."
    ),
    tool_call_parser: str | None = typer.Option(
        None,
        "--tool-call-parser",
        help="vLLM tool-call parser (default: from the model family; 'none' disables tools).",
    ),
    chat_template: str | None = typer.Option(
        None, "--chat-template", help="Chat template file (default: the family's recommendation)."
    ),
    served_model_name: str | None = typer.Option(
        None, "--served-model-name", help="Model id clients use (default: MODEL)."
    ),
    gpus: str | None = typer.Option(
        None, "--gpus", help="GPU indices this server may use, e.g. 0 or 2,3."
    ),
    replica: bool = typer.Option(
        False, "--replica", help="Add another endpoint (replica) to an existing NAME."
    ),
    no_fit_check: bool = typer.Option(
        False, "--no-fit-check", help="Start even when the GPU memory estimate says no."
    ),
    extra: list[str] = typer.Option(
        [], "--extra", help="Extra vLLM arguments (shell-quoted string); repeatable."
    ),
    timeout: float = typer.Option(900.0, "--timeout", help="Seconds to wait for /health."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the command and checks without starting anything."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    from marketplace.cli.output import emit_json, note
    from runtime.models.serve import ServeOptions, plan_launch, start_server

    extra_args = [arg for chunk in extra for arg in shlex.split(chunk)] + list(ctx.args)
    options = ServeOptions(
        model=model,
        name=name,
        port=port,
        host=host,
        python=python,
        gpu_memory_utilization=gpu_memory_utilization,
        tensor_parallel_size=tensor_parallel_size,
        pipeline_parallel_size=pipeline_parallel_size,
        max_model_len=max_model_len,
        max_num_seqs=max_num_seqs,
        dtype=dtype,
        enable_lora=enable_lora,
        enable_prefix_caching=enable_prefix_caching,
        enable_sleep_mode=enable_sleep_mode,
        tool_call_parser=tool_call_parser,
        chat_template=chat_template,
        served_model_name=served_model_name,
        gpus=gpus,
        replica=replica,
        check_fit=not no_fit_check,
        extra=tuple(extra_args),
    )
    config = settings()
    if dry_run:
        plan = plan_launch(options, settings=config, dry_run=True)
        if json_output:
            emit_json(_plan_json(plan))
            return
        for line in plan.notes:
            note(f"note: {line}")
        note(plan.fit.message)
        typer.echo(shlex.join(plan.argv))
        return
    with spinner(f"starting vLLM for {model} (this takes a while)", enabled=not json_output):
        result = run(start_server(options, settings=config, timeout=timeout))
    if json_output:
        emit_json({**result.record.to_json(), "seconds": round(result.seconds, 1)})
        return
    for line in result.plan.notes:
        note(f"note: {line}")
    record = result.record
    note(
        f"serving {record.served_model} as {record.name} at {record.url} "
        f"(pid {record.pid}, ready in {result.seconds:.0f}s; log {record.log_path})"
    )


def stop(
    name: str = typer.Argument(..., help="Managed model name."),
    port: int | None = typer.Option(None, "--port", help="Only the replica on this port."),
    grace: float = typer.Option(30.0, "--grace", help="Seconds between SIGTERM and SIGKILL."),
    json_output: bool = typer.Option(False, "--json", help="Print what was stopped as JSON."),
) -> None:
    from marketplace.cli.output import emit_json, note
    from runtime.models.serve import stop_servers

    records = stop_servers(name, settings=settings(), port=port, grace=grace)
    if json_output:
        emit_json([{"name": r.name, "url": r.url, "pid": r.pid} for r in records])
        return
    for record in records:
        note(f"stopped {record.name} at {record.url} (pid {record.pid})")


def switch(
    name: str = typer.Argument(..., help="Managed model name."),
    new_model: str = typer.Argument(..., help="Model to serve instead."),
    tool_call_parser: str | None = typer.Option(
        None, "--tool-call-parser", help="Parser for the new model (default: from its family)."
    ),
    chat_template: str | None = typer.Option(
        None, "--chat-template", help="Chat template for the new model."
    ),
    timeout: float = typer.Option(900.0, "--timeout", help="Seconds to wait for /health."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    from marketplace.cli.output import emit_json, note
    from runtime.models.serve import switch_model

    overrides = {}
    if tool_call_parser is not None:
        overrides["tool_call_parser"] = tool_call_parser
    if chat_template is not None:
        overrides["chat_template"] = chat_template
    with spinner(f"switching {name} to {new_model}", enabled=not json_output):
        results = run(
            switch_model(name, new_model, settings=settings(), timeout=timeout, **overrides)
        )
    if json_output:
        emit_json([r.record.to_json() for r in results])
        return
    for result in results:
        note(f"{name} now serves {result.record.served_model} at {result.record.url}")


def _plan_json(plan: LaunchPlan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "port": plan.port,
        "argv": list(plan.argv),
        "env": sorted(plan.env_overrides),  # names only: values may be secrets
        "served_model": plan.served_model,
        "family": plan.detection.family.name if plan.detection.family else None,
        "family_reason": plan.detection.reason,
        "parser": plan.parser,
        "chat_template": plan.chat_template,
        "fit": {"fits": plan.fit.fits, "message": plan.fit.message},
        "api_key_file": plan.api_key_file,
        "notes": list(plan.notes),
    }


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} B"
