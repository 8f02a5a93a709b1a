"""MCP client configs, edited in place: ``mgx client list | add | remove | import``.

Public surface::

    CLIENTS, Client, Where, client_by_id    the clients, their formats and config paths
    gateway_launch, per_tool_launches,      what to write (``mgx tool serve``, ``mgx tool run``,
    direct_launches, Launch, Ref            or the raw locked invocations)
    add_entries, remove_entries             merge / take out mgx's entries (backup, atomic)
    list_clients, client_servers            what each client holds
    match_servers, ImportCandidate          match a client's servers to registry entries

Formats: ``_jsonc`` (JSON and JSONC, member-level text edits), ``_toml`` (tomlkit),
``_yaml`` (marked line blocks). See docs/clients.md.
"""

from __future__ import annotations

from marketplace.clients._apply import (
    ClientChange,
    ClientStatus,
    add_entries,
    client_servers,
    list_clients,
    remove_entries,
)
from marketplace.clients._entries import (
    GATEWAY_COMMAND,
    Launch,
    Ref,
    direct_launches,
    gateway_command,
    gateway_launch,
    per_tool_launches,
)
from marketplace.clients._import import ImportCandidate, match_servers, package_of
from marketplace.clients._table import CLIENTS, Client, Where, client_by_id

__all__ = [
    "CLIENTS",
    "GATEWAY_COMMAND",
    "Client",
    "ClientChange",
    "ClientStatus",
    "ImportCandidate",
    "Launch",
    "Ref",
    "Where",
    "add_entries",
    "client_by_id",
    "client_servers",
    "direct_launches",
    "gateway_command",
    "gateway_launch",
    "list_clients",
    "match_servers",
    "package_of",
    "per_tool_launches",
    "remove_entries",
]
