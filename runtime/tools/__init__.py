"""MCP tools inside agents: start a tool set's servers and expose their tools to a model.

Public surface::

    ToolHub       async context manager over the servers of one tool set
    ServerSpec    how to reach one server (stdio command or remote URL)
    ToolFilter    allow/deny globs + predicate, per agent
    HubTool       one tool as the model sees it (``server__tool``)
    ToolOutcome   one call's result as tool-message text
    ServerStatus  per-server state reported by ``ToolHub.status()``
    expose_names  the naming rule (sanitised, <= 64 chars, collision-free)
    StartWhen     when a deferred server starts (``ToolHub(deferred=...)``)
    pinned_tools  a locked server's tool list from its pins, without starting it
"""

from __future__ import annotations

from runtime.tools._filters import ToolFilter
from runtime.tools._hub import StartWhen, ToolHub
from runtime.tools._model import HubTool, ServerSpec, ServerStatus, ToolOutcome
from runtime.tools._naming import expose_names, sanitise
from runtime.tools._pinned import pinned_tools

__all__ = [
    "HubTool",
    "ServerSpec",
    "ServerStatus",
    "StartWhen",
    "ToolFilter",
    "ToolHub",
    "ToolOutcome",
    "expose_names",
    "pinned_tools",
    "sanitise",
]
