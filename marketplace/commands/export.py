"""``mgx tool export --client C``: an MCP client's config for the locked tools.

Everything comes from the lock. Values the user supplies through the environment (secrets
above all) are written as *references* in the client's own syntax, never as values:

=================  ==========================  =============
client             file it is meant for        reference
=================  ==========================  =============
``claude-desktop`` claude_desktop_config.json  ``${VAR}``
``cursor``         .cursor/mcp.json            ``${env:VAR}``
``vscode``         .vscode/mcp.json            ``${env:VAR}``
=================  ==========================  =============

Claude Desktop's config holds local (stdio) servers only; remote tools are left out of it and
named in ``skipped``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from marketplace.errors import ConfigError

if TYPE_CHECKING:
    from marketplace.lockfile import LockedTool
    from marketplace.project import Project

__all__ = ["CLIENTS", "ExportResult", "export"]

CLIENTS = ("claude-desktop", "cursor", "vscode")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
_NOT_ENV = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True, kw_only=True)
class ExportResult:
    client: str
    config: dict[str, Any]
    skipped: list[str] = field(default_factory=list)  # tools the client cannot express


def _ref(client: str, var: str) -> str:
    return f"${{{var}}}" if client == "claude-desktop" else f"${{env:{var}}}"


def _env_var(name: str) -> str:
    """A variable name for an input that has no binding (``api-key`` → ``API_KEY``)."""
    var = _NOT_ENV.sub("_", name).upper()
    return var if not var[:1].isdigit() else f"_{var}"


def _values(client: str, tool: LockedTool, directory: str) -> dict[str, str | None]:
    """Each input's text in the exported config: a value, a reference, or None (leave out)."""
    out: dict[str, str | None] = {"tool_dir": directory}
    for spec in tool.package.invocation.inputs:
        if spec.name in tool.args and not spec.secret:
            out[spec.name] = tool.args[spec.name]
        elif spec.name in tool.env:
            out[spec.name] = _ref(client, tool.env[spec.name])
        elif spec.secret and spec.required:
            out[spec.name] = _ref(client, _env_var(spec.name))
        elif spec.default:
            out[spec.name] = spec.default
        elif spec.required:
            raise ConfigError(
                f"{tool.name}: required input {spec.name!r} has no value; set it in mgx.toml: "
                f'args = {{ {spec.name} = "..." }}'
            )
        else:
            out[spec.name] = None
    return out


def _render(text: str, values: Mapping[str, str | None]) -> str | None:
    missing = False

    def sub(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name not in values:
            return match.group(0)  # undeclared {names} stay literal, as at launch
        value = values[name]
        if value is None:
            missing = True
            return ""
        return value

    rendered = _PLACEHOLDER.sub(sub, text)
    return None if missing else rendered


def _key_values(
    client: str, tool: LockedTool, items: Any, values: Mapping[str, str | None]
) -> dict[str, str]:
    out = {}
    for item in items:
        if item.value:
            rendered = _render(item.value, values)
            if rendered is not None:
                out[item.name] = rendered
        elif item.name in tool.env or item.required or item.secret:
            out[item.name] = _ref(client, tool.env.get(item.name, item.name))
    return out


def _entry(client: str, project: Project, tool: LockedTool) -> dict[str, Any] | None:
    from marketplace.installers import tool_dir

    inv = tool.package.invocation
    remote = inv.transport != "stdio"
    directory = str(tool_dir(project.settings, tool.package))
    values = _values(client, tool, directory)
    if remote and not inv.command:
        if client == "claude-desktop":
            return None
        url = _render(inv.url, values) or inv.url
        kind = "sse" if inv.transport == "sse" else "http"
        entry: dict[str, Any] = {"type": kind, "url": url} if client == "vscode" else {"url": url}
        headers = _key_values(client, tool, inv.headers, values)
        if headers:
            entry["headers"] = headers
        return entry
    args: list[str] = []
    for group in inv.args:
        rendered = [_render(item, values) for item in group]
        if any(r is None for r in rendered):
            continue  # an optional argument without a value is left out, as at launch
        args.extend(r for r in rendered if r is not None)
    command = _render(inv.command, values) or inv.command
    entry = {"type": "stdio"} if client == "vscode" else {}
    entry.update({"command": command, "args": args})
    env = _key_values(client, tool, inv.env, values)
    if env:
        entry["env"] = env
    return entry


def export(project: Project, client: str, *, toolset: str | None = None) -> ExportResult:
    """Build ``client``'s MCP configuration for the locked tools (of ``toolset``)."""
    from marketplace.errors import LockError

    if client not in CLIENTS:
        raise ConfigError(f"unknown client {client!r}; choose one of {', '.join(CLIENTS)}")
    lock = project.lock()
    if not lock.tools:
        raise LockError(f"no tools are locked in {project.root}; run `mgx tool install NAME`")
    if toolset is not None and toolset not in lock.toolsets:
        known = ", ".join(sorted(lock.toolsets)) or "none"
        raise ConfigError(f"no tool set {toolset!r} in mgx.lock (tool sets: {known})")
    names = sorted(lock.toolsets[toolset]) if toolset else sorted(lock.tools)
    from marketplace.invocation import check_invocation

    for name in names:  # a client will start what is exported: the same rule as a start
        check_invocation(project.settings, lock.tools[name])
    shorts = [n.rsplit("/", 1)[-1] for n in names]
    servers: dict[str, Any] = {}
    skipped = []
    for name, short in zip(names, shorts, strict=True):
        entry = _entry(client, project, lock.tools[name])
        if entry is None:
            skipped.append(name)
            continue
        servers[short if shorts.count(short) == 1 else name] = entry
    key = "servers" if client == "vscode" else "mcpServers"
    return ExportResult(client=client, config={key: servers}, skipped=skipped)
