"""Fast paths for ``mgx tool sync --frozen`` and ``mgx tool search``, run before typer loads.

``sync --frozen`` is what CI and agents run before every session; with everything installed it
should cost little more than reading two TOML files (target: 150 ms, no network). Importing
typer and click alone costs more than that, so the console script offers the command line here
first: exactly ``tool sync --frozen`` with ``--json`` and ``--project DIR`` / ``-C DIR``. Any
other argument (``--help``, ``--debug``, a typo) returns None and the full CLI handles it, with
the same behaviour and messages.

``tool search QUERY`` with its options written plainly (``--json``, ``--offline``,
``--installable``, ``--limit N``/``-n N``, ``--type T``/``-t T``, ``--transport T``,
``--registry R``/``-r R``) is answered here too: a cold search is what a new user runs first,
and typer's import alone is several times Python's start. Anything unusual (``--limit=5``, a
value out of range, a second query word) goes to the full CLI, which validates and reports.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

__all__ = ["run_fast"]


def _parse(argv: list[str]) -> tuple[str | None, bool] | None:
    if argv[:2] != ["tool", "sync"]:
        return None
    project: str | None = None
    frozen = as_json = False
    rest = argv[2:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--frozen":
            frozen = True
        elif arg == "--json":
            as_json = True
        elif arg in ("--project", "-C") and i + 1 < len(rest) and not rest[i + 1].startswith("-"):
            project = rest[i + 1]
            i += 1
        elif arg.startswith("--project="):
            project = arg.split("=", 1)[1]
        else:
            return None
        i += 1
    return (project, as_json) if frozen else None


@dataclass
class _Search:
    query: str = ""
    types: list[str] = field(default_factory=list)
    transport: str | None = None
    registry: str | None = None
    limit: int = 20
    installable: bool = False
    as_json: bool = False
    offline: bool = False


def _parse_search(argv: list[str]) -> _Search | None:
    if argv[:2] != ["tool", "search"]:
        return None
    opts = _Search()
    rest = argv[2:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        value = rest[i + 1] if i + 1 < len(rest) and not rest[i + 1].startswith("-") else None
        if arg == "--json":
            opts.as_json = True
        elif arg == "--offline":
            opts.offline = True
        elif arg == "--installable":
            opts.installable = True
        elif arg in ("--type", "-t") and value is not None:
            opts.types.append(value)
            i += 1
        elif arg == "--transport" and value is not None:
            opts.transport = value
            i += 1
        elif arg in ("--registry", "-r") and value is not None:
            opts.registry = value
            i += 1
        elif arg in ("--limit", "-n") and value is not None:
            if not value.isdigit() or not 1 <= int(value) <= 500:
                return None  # the full CLI says what is wrong with it
            opts.limit = int(value)
            i += 1
        elif not arg.startswith("-") and not opts.query:
            opts.query = arg
        else:
            return None
        i += 1
    return opts if opts.query else None


def _search(opts: _Search) -> int:
    from marketplace.catalog import Catalog
    from marketplace.cli.output import note
    from marketplace.cli.search_view import render_search

    with Catalog(offline=True if opts.offline else None) as catalog:
        ranked = catalog.search_installable(
            opts.query,
            types=opts.types,
            transport=opts.transport,
            registry=opts.registry,
            limit=opts.limit,
            installable_only=opts.installable,
        )
        for line in catalog.notes:
            note(f"mgx: note: {line}")
    render_search(ranked, opts.query, as_json=opts.as_json)
    return 0


def _fail(exc: BaseException) -> int:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    sys.stderr.write(f"mgx: error: {message}\n")
    return int(getattr(exc, "exit_code", 1))


def run_fast(argv: list[str]) -> int | None:
    """Run ``argv`` if it is a fast-path command; None when the full CLI must handle it."""
    search = _parse_search(argv)
    if search is not None:
        from marketplace.errors import MarketplaceError
        from registry_cache.errors import CacheError

        try:
            return _search(search)
        except KeyboardInterrupt:
            sys.stderr.write("mgx: interrupted\n")
            return 130
        except (MarketplaceError, CacheError) as exc:
            return _fail(exc)
    parsed = _parse(argv)
    if parsed is None:
        return None
    project_dir, as_json = parsed
    from marketplace.errors import MarketplaceError
    from registry_cache.errors import CacheError

    try:
        from marketplace.commands.sync import sync
        from marketplace.project import find_project

        result = sync(find_project(project_dir), frozen=True)
    except KeyboardInterrupt:
        sys.stderr.write("mgx: interrupted\n")
        return 130
    except (MarketplaceError, CacheError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"mgx: error: {message}\n")
        return getattr(exc, "exit_code", 1)
    if as_json:
        from marketplace.cli.output import emit_json

        emit_json(result)
    else:
        sys.stderr.write(
            f"synced: {len(result.installed)} installed, {len(result.present)} already present\n"
        )
    return 0
