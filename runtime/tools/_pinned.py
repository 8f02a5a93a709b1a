"""A locked server's tool list without starting it: its pinned descriptions.

The lock pins every tool's description (``marketplace.tool_pins``) and the text behind the
pins is kept, content-addressed, in the pins store. That text is exactly what the server
must list when it starts (a server that lists anything else is refused), so a hub can show
the model these tools before the server is up, and start it later (``ToolHub``'s
``deferred``). Nothing is trusted here that the start does not check again.
"""

from __future__ import annotations

from typing import Any

from runtime.tools._model import ServerSpec

__all__ = ["pinned_tools"]


def pinned_tools(spec: ServerSpec) -> list[Any] | None:
    """The SDK ``Tool`` objects of ``spec``'s pinned descriptions, or None when the spec has
    no pins or their text is not on this machine intact (its digest is checked on load)."""
    if spec.tool_pins is None or spec.pins_store is None:
        return None
    from marketplace.tool_pins import load_descriptions

    canon = load_descriptions(spec.pins_store, spec.tool_pins)
    if canon is None:
        return None
    from mcp.types import Tool  # imported lazily: `mgx --help` must not import mcp

    try:
        return [Tool.model_validate(item) for item in canon]
    except ValueError:  # pydantic's ValidationError: text the SDK cannot read is not used
        return None
