"""The ``mgx tool`` verbs as library functions, one module per verb, each returning a result.

    install(project, "mcp-server-time", "^2026.10", toolset="research")
    remove(project, name)            list_tools(project)        outdated(project)
    update(project, name | None)     sync(project, frozen=True) check(project, name)
    verify(project, names)           trust(project, name, accept=...)
    export(project, "cursor")

Find the project with :func:`marketplace.project.find_project`. The library never prints;
long steps report through an optional ``progress(str)`` callback.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from marketplace.commands.check import CheckReport, check
    from marketplace.commands.export import CLIENTS, ExportResult, export
    from marketplace.commands.install import InstallResult, install, split_name
    from marketplace.commands.query import (
        OutdatedReport,
        OutdatedRow,
        ToolRow,
        list_tools,
        outdated,
    )
    from marketplace.commands.remove import RemoveResult, remove
    from marketplace.commands.sync import SyncResult, sync
    from marketplace.commands.trust import TrustResult, trust
    from marketplace.commands.update import Change, UpdateResult, update
    from marketplace.commands.verify import VerifyReport, verify

# Imported on first use: each command loads only its own module (`sync --frozen` is hot).
_HOME = {
    "check": "check",
    "CheckReport": "check",
    "CLIENTS": "export",
    "ExportResult": "export",
    "export": "export",
    "InstallResult": "install",
    "install": "install",
    "split_name": "install",
    "OutdatedReport": "query",
    "OutdatedRow": "query",
    "ToolRow": "query",
    "list_tools": "query",
    "outdated": "query",
    "RemoveResult": "remove",
    "remove": "remove",
    "SyncResult": "sync",
    "sync": "sync",
    "Change": "update",
    "UpdateResult": "update",
    "update": "update",
    "TrustResult": "trust",
    "trust": "trust",
    "VerifyReport": "verify",
    "verify": "verify",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'marketplace.commands' has no attribute {name!r}")
    value = getattr(import_module(f"marketplace.commands.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CLIENTS",
    "Change",
    "CheckReport",
    "ExportResult",
    "InstallResult",
    "OutdatedReport",
    "OutdatedRow",
    "RemoveResult",
    "SyncResult",
    "ToolRow",
    "TrustResult",
    "UpdateResult",
    "VerifyReport",
    "check",
    "export",
    "install",
    "list_tools",
    "outdated",
    "remove",
    "split_name",
    "sync",
    "trust",
    "update",
    "verify",
]
