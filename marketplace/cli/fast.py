"""A fast path for ``mgx tool sync --frozen``, run before the typer app is even imported.

``sync --frozen`` is what CI and agents run before every session; with everything installed it
should cost little more than reading two TOML files (target: 150 ms, no network). Importing
typer and click alone costs more than that, so the console script offers the command line here
first: exactly ``tool sync --frozen`` with ``--json`` and ``--project DIR`` / ``-C DIR``. Any
other argument (``--help``, ``--debug``, a typo) returns None and the full CLI handles it, with
the same behaviour and messages.
"""

from __future__ import annotations

import sys

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


def run_fast(argv: list[str]) -> int | None:
    """Run ``argv`` if it is a fast-path command; None when the full CLI must handle it."""
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
