"""Planning mode: which tools an agent may use while coordinating.

During coordination, tools with side effects are withheld (several agents exploring the task
must not each write the file or send the mail); the presenter gets them all. A tool counts as
side-effecting unless its server marks it ``readOnlyHint: true`` (MCP's default for a tool
without annotations is *not* read-only), and always when it matches one of the configured
globs (``side_effect_tools``) or writes files in a workspace (``is_file_write``), whatever its
annotations say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.tools import ToolFilter
from runtime.workspaces import is_file_write

if TYPE_CHECKING:
    from runtime.coordination._model import CoordinationOptions
    from runtime.tools import HubTool


def coordination_filter(base: ToolFilter | None, options: CoordinationOptions) -> ToolFilter:
    """``base`` narrowed to the tools without side effects."""
    base = base or ToolFilter()
    outer = base.predicate

    def read_only(tool: HubTool) -> bool:
        annotations = tool.annotations or {}
        if not tool.read_only or annotations.get("destructiveHint") is True:
            return False
        if is_file_write(tool):
            return False
        return outer is None or bool(outer(tool))

    return ToolFilter(
        allow=base.allow, deny=(*base.deny, *options.side_effect_tools), predicate=read_only
    )
