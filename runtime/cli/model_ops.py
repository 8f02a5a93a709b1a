"""`mgx model add | remove | lora | sleep | wake`: external endpoints and runtime changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from runtime.cli._model_common import run, settings

if TYPE_CHECKING:
    from runtime.models.control import ControlResult


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the ``mgx model`` group."""
    app.command(
        "add",
        help="Register any OpenAI-compatible endpoint (SGLang, llama.cpp, Ollama, LM Studio, a "
        "cloud API) under NAME, usable wherever a model name is.",
    )(add)
    app.command("remove", help="Forget an external endpoint registered with `add`.")(remove)
    lora_app = typer.Typer(help="Load or unload LoRA adapters at runtime.", no_args_is_help=True)
    lora_app.command("load", help="Load ADAPTER from PATH into every endpoint of NAME.")(lora_load)
    lora_app.command("unload", help="Unload ADAPTER from every endpoint of NAME.")(lora_unload)
    app.add_typer(lora_app, name="lora")
    app.command("sleep", help="Free a model's GPU memory without stopping its server.")(sleep)
    app.command("wake", help="Wake a sleeping model up.")(wake)


def add(
    name: str = typer.Argument(..., help="Name to refer to the endpoint."),
    url: list[str] = typer.Option(
        ..., "--url", help="Base URL (e.g. http://host:8000/v1); repeat for replicas."
    ),
    model: str = typer.Option(..., "--model", help="Model id to send in requests."),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Environment variable holding the API key (never stored)."
    ),
    replace: bool = typer.Option(False, "--replace", help="Overwrite an existing registration."),
    json_output: bool = typer.Option(False, "--json", help="Print the registration as JSON."),
) -> None:
    from marketplace.cli.output import emit_json, note
    from runtime.models.inventory import add_external

    record = add_external(
        name, urls=url, model=model, api_key_env=api_key_env, settings=settings(), replace=replace
    )
    if json_output:
        emit_json(record)
        return
    note(f"added {record.name}: {record.model} at {' '.join(record.urls)}")


def remove(name: str = typer.Argument(..., help="External endpoint name.")) -> None:
    from marketplace.cli.output import note
    from runtime.models.inventory import remove_external

    remove_external(name, settings=settings())
    note(f"removed {name}")


def lora_load(
    name: str = typer.Argument(..., help="Managed model name (or external endpoint)."),
    adapter: str = typer.Argument(..., help="Name requests use to pick the adapter."),
    path: str = typer.Argument(..., help="Adapter directory (or Hub id) as the server sees it."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    from runtime.models.control import load_lora

    _report(run(load_lora(name, adapter, path, settings=settings())), json_output)


def lora_unload(
    name: str = typer.Argument(..., help="Managed model name (or external endpoint)."),
    adapter: str = typer.Argument(..., help="Adapter name given at load."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    from runtime.models.control import unload_lora

    _report(run(unload_lora(name, adapter, settings=settings())), json_output)


def sleep(
    name: str = typer.Argument(..., help="Managed model name."),
    level: int = typer.Option(1, "--level", help="1: offload weights to CPU; 2: discard them."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    from runtime.models.control import sleep as sleep_model

    _report(run(sleep_model(name, level=level, settings=settings())), json_output)


def wake(
    name: str = typer.Argument(..., help="Managed model name."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    from runtime.models.control import wake as wake_model

    _report(run(wake_model(name, settings=settings())), json_output)


def _report(result: ControlResult, json_output: bool) -> None:
    from marketplace.cli.output import emit_json, note

    if json_output:
        emit_json(result)
        return
    note(f"{result.action}: {result.name} ({len(result.endpoints)} endpoint(s))")
