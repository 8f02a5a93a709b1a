"""The ``mgx`` command: one root app assembling the marketplace and runtime command groups.

It lives in ``runtime`` because the runtime may import the marketplace and not the reverse.
Every sub-module imports its heavy dependencies inside the commands, so ``mgx --help`` and
``mgx tool search`` stay fast. ``main`` is the only place where exceptions become messages.
"""

from __future__ import annotations

import sys

import typer

from marketplace.cli import client as client_cli
from marketplace.cli import init as init_cli
from marketplace.cli import registry as registry_cli
from marketplace.cli import tool as tool_cli
from runtime.cli import agent as agent_cli
from runtime.cli import gateway as gateway_cli
from runtime.cli import model as model_cli
from runtime.cli import run as run_cli

app = typer.Typer(
    name="mgx",
    help="MCP marketplace manager with a local-model runtime.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
gateway_cli.register(tool_cli.app)  # tool serve, tool run: the gateway is runtime's
app.add_typer(tool_cli.app, name="tool")
app.add_typer(registry_cli.app, name="registry")
app.add_typer(client_cli.app, name="client")
app.add_typer(model_cli.app, name="model")
agent_cli.register(app)
run_cli.register(app)
app.command("init")(init_cli.init)

_debug = False


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"mgx {version('mgx')}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    _version: bool = typer.Option(
        False,
        "--version",
        "-V",
        is_eager=True,
        callback=_show_version,
        help="Print mgx's version and exit.",
    ),
) -> None:
    global _debug
    _debug = debug


def _expected_errors() -> tuple[type[BaseException], ...]:
    from marketplace.errors import MarketplaceError
    from registry_cache.errors import CacheError
    from runtime.errors import MgxRuntimeError

    return (MarketplaceError, CacheError, MgxRuntimeError)


def _click_exit(exc: Exception) -> int | None:
    """Exit code for typer/click's own exceptions (usage errors, Exit, Abort), printing one line.

    typer 0.29 ships its own copy of click (``typer._click``); older typers use ``click``.
    """
    import importlib

    if isinstance(exc, typer.Exit):
        return int(exc.exit_code)
    if isinstance(exc, typer.Abort):
        sys.stderr.write("mgx: aborted\n")
        return 1
    if type(exc).__name__ == "NoArgsIsHelpError":
        return 0  # `mgx` or `mgx tool` alone: the help is printed already, and that is success
    for module_name in ("typer._click.exceptions", "click.exceptions"):
        try:
            ce = importlib.import_module(module_name)
        except ImportError:
            continue
        if isinstance(exc, ce.UsageError):
            ctx = getattr(exc, "ctx", None)
            where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            sys.stderr.write(f"mgx: error: {exc.format_message()}{where}\n")
            return int(exc.exit_code)
        if isinstance(exc, ce.ClickException):
            sys.stderr.write(f"mgx: error: {exc.format_message()}\n")
            return int(exc.exit_code)
    return None


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turning known errors into one line and an exit code."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=argv, standalone_mode=False)
        # Without standalone mode typer *returns* exit codes (typer.Exit(n); Ctrl-C -> 130).
        if isinstance(result, int) and result:
            if result == 130:
                sys.stderr.write("mgx: interrupted\n")
            return result
    except KeyboardInterrupt:
        sys.stderr.write("mgx: interrupted\n")
        return 130
    except SystemExit as exc:  # typer/click exit paths (help, usage errors handled below)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except Exception as exc:
        code = _click_exit(exc)
        if code is not None:
            return code
        if debug:
            raise
        expected = _expected_errors()
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, expected):
            sys.stderr.write(f"mgx: error: {message}\n")
            return getattr(exc, "exit_code", 1)
        sys.stderr.write(
            f"mgx: internal error: {type(exc).__name__}: {message} (rerun with --debug)\n"
        )
        return 70
    return 0


if __name__ == "__main__":
    sys.exit(main())
