"""The ``mgx`` console script: hot commands take a fast path, everything else the typer app.

Kept apart from ``runtime.cli`` (which imports typer at once) so that ``mgx tool sync
--frozen`` starts in a few tens of milliseconds; see ``marketplace.cli.fast``. ``mgx tool
serve`` / ``tool run`` on stdio likewise (``runtime.gateway.launch``).
"""

from __future__ import annotations

import sys


def main() -> int:
    from marketplace.cli.fast import run_fast

    code = run_fast(sys.argv[1:])
    if code is not None:
        return code
    if sys.argv[1:3] in (["tool", "serve"], ["tool", "run"]):
        from runtime.gateway.launch import run_fast as run_gateway_fast

        code = run_gateway_fast(sys.argv[1:])
        if code is not None:
            return code
    from runtime.cli import main as full

    return full()
