"""The MCP clients mgx can configure: where each keeps its config, per OS, and its format.

Paths follow each client's documentation. They are computed from the environment (``HOME``,
``APPDATA``, ``XDG_CONFIG_HOME``, ``CODEX_HOME``) and the platform, so tests point them at a
temporary directory by setting those variables, exactly as a user's shell would.

=================  =======  ==================================================================
client             format   Linux path (macOS / Windows differ where noted in docs/clients.md)
=================  =======  ==================================================================
claude-desktop     json     $XDG_CONFIG_HOME/Claude/claude_desktop_config.json
claude-code        json     ~/.claude.json
cursor             json     ~/.cursor/mcp.json
vscode             jsonc    $XDG_CONFIG_HOME/Code/User/mcp.json
vscode-workspace   jsonc    PROJECT/.vscode/mcp.json
windsurf           json     ~/.codeium/windsurf/mcp_config.json
cline              json     .../Code/User/globalStorage/saoudrizwan.claude-dev/settings/...
roo-code           json     .../Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/...
continue           yaml     ~/.continue/config.yaml
goose              yaml     $XDG_CONFIG_HOME/goose/config.yaml
codex              toml     $CODEX_HOME/config.toml (~/.codex)
gemini             jsonc    ~/.gemini/settings.json
zed                jsonc    $XDG_CONFIG_HOME/zed/settings.json
opencode           jsonc    $XDG_CONFIG_HOME/opencode/opencode.json
lm-studio          json     ~/.lmstudio/mcp.json
qwen-code          jsonc    ~/.qwen/settings.json
=================  =======  ==================================================================
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from marketplace.errors import ConfigError

__all__ = ["CLIENTS", "Client", "Where", "client_by_id"]

Format = Literal["json", "jsonc", "toml", "yaml"]
# How a client's entry looks: see ``_entries.render``.
Shape = Literal["standard", "vscode", "opencode", "goose", "continue", "codex", "zed"]


@dataclass(frozen=True, kw_only=True)
class Where:
    """What a config path depends on: the environment, the platform, the project."""

    env: Mapping[str, str]
    platform: str = sys.platform
    project: Path | None = None

    @property
    def home(self) -> Path:
        home = self.env.get("USERPROFILE" if self.platform == "win32" else "HOME")
        if not home:
            raise ConfigError("cannot locate client configs: HOME is not set")
        return Path(home)

    @property
    def appdata(self) -> Path:
        return Path(self.env.get("APPDATA") or self.home / "AppData" / "Roaming")

    @property
    def xdg_config(self) -> Path:
        return Path(self.env.get("XDG_CONFIG_HOME") or self.home / ".config")

    def app_dir(self, name: str) -> Path:
        """Per-OS application data directory (Electron apps: Claude, Code)."""
        if self.platform == "darwin":
            return self.home / "Library" / "Application Support" / name
        if self.platform == "win32":
            return self.appdata / name
        return self.xdg_config / name


@dataclass(frozen=True, kw_only=True)
class Client:
    id: str
    name: str
    format: Format
    container: tuple[str, ...]  # the object (or YAML list) holding the servers
    shape: Shape
    # Env reference template ("${env:%s}") or None where the client has no such syntax.
    ref: str | None
    locate: Callable[[Where], Path]
    workspace: bool = False  # the config lives in the project, not the user's home

    def path(self, where: Where) -> Path:
        if self.workspace and where.project is None:
            raise ConfigError(f"{self.id} is configured per project; pass --project DIR")
        return self.locate(where)


def _vscode_user(w: Where) -> Path:
    return w.app_dir("Code") / "User"


def _goose(w: Where) -> Path:
    if w.platform == "win32":
        return w.appdata / "Block" / "goose" / "config" / "config.yaml"
    return (
        w.xdg_config / "goose" / "config.yaml"
        if w.platform != "darwin"
        else (w.home / ".config" / "goose" / "config.yaml")
    )


def _codex(w: Where) -> Path:
    return Path(w.env.get("CODEX_HOME") or w.home / ".codex") / "config.toml"


def _zed(w: Where) -> Path:
    if w.platform == "win32":
        return w.appdata / "Zed" / "settings.json"
    if w.platform == "darwin":
        return w.home / ".config" / "zed" / "settings.json"
    return w.xdg_config / "zed" / "settings.json"


def _opencode(w: Where) -> Path:
    base = w.xdg_config if w.platform not in ("darwin", "win32") else w.home / ".config"
    return base / "opencode" / "opencode.json"


def _workspace_vscode(w: Where) -> Path:
    assert w.project is not None
    return w.project / ".vscode" / "mcp.json"


_CLINE = ("saoudrizwan.claude-dev", "cline_mcp_settings.json")
_ROO = ("rooveterinaryinc.roo-cline", "mcp_settings.json")

CLIENTS: tuple[Client, ...] = (
    Client(
        id="claude-desktop",
        name="Claude Desktop",
        format="json",
        container=("mcpServers",),
        shape="standard",
        ref="${%s}",
        locate=lambda w: w.app_dir("Claude") / "claude_desktop_config.json",
    ),
    Client(
        id="claude-code",
        name="Claude Code",
        format="json",
        container=("mcpServers",),
        shape="standard",
        ref="${%s}",
        locate=lambda w: w.home / ".claude.json",
    ),
    Client(
        id="cursor",
        name="Cursor",
        format="json",
        container=("mcpServers",),
        shape="standard",
        ref="${env:%s}",
        locate=lambda w: w.home / ".cursor" / "mcp.json",
    ),
    Client(
        id="vscode",
        name="VS Code (user)",
        format="jsonc",
        container=("servers",),
        shape="vscode",
        ref="${env:%s}",
        locate=lambda w: _vscode_user(w) / "mcp.json",
    ),
    Client(
        id="vscode-workspace",
        name="VS Code (workspace)",
        format="jsonc",
        container=("servers",),
        shape="vscode",
        ref="${env:%s}",
        locate=_workspace_vscode,
        workspace=True,
    ),
    Client(
        id="windsurf",
        name="Windsurf",
        format="json",
        container=("mcpServers",),
        shape="standard",
        ref="${env:%s}",
        locate=lambda w: w.home / ".codeium" / "windsurf" / "mcp_config.json",
    ),
    Client(
        id="cline",
        name="Cline",
        format="json",
        container=("mcpServers",),
        shape="standard",
        ref=None,
        locate=lambda w: _vscode_user(w) / "globalStorage" / _CLINE[0] / "settings" / _CLINE[1],
    ),
    Client(
        id="roo-code",
        name="Roo Code",
        format="json",
        container=("mcpServers",),
        shape="standard",
        ref="${env:%s}",
        locate=lambda w: _vscode_user(w) / "globalStorage" / _ROO[0] / "settings" / _ROO[1],
    ),
    Client(
        id="continue",
        name="Continue",
        format="yaml",
        container=("mcpServers",),
        shape="continue",
        ref="${{ secrets.%s }}",
        locate=lambda w: w.home / ".continue" / "config.yaml",
    ),
    Client(
        id="goose",
        name="Goose",
        format="yaml",
        container=("extensions",),
        shape="goose",
        ref=None,  # env_keys: names goose looks up itself
        locate=_goose,
    ),
    Client(
        id="codex",
        name="Codex CLI",
        format="toml",
        container=("mcp_servers",),
        shape="codex",
        ref=None,  # env_vars: names codex forwards from its environment
        locate=_codex,
    ),
    Client(
        id="gemini",
        name="Gemini CLI",
        format="jsonc",
        container=("mcpServers",),
        shape="standard",
        ref="${%s}",
        locate=lambda w: w.home / ".gemini" / "settings.json",
    ),
    Client(
        id="zed",
        name="Zed",
        format="jsonc",
        container=("context_servers",),
        shape="zed",
        ref=None,
        locate=_zed,
    ),
    Client(
        id="opencode",
        name="OpenCode",
        format="jsonc",
        container=("mcp",),
        shape="opencode",
        ref="{env:%s}",
        locate=_opencode,
    ),
    Client(
        id="lm-studio",
        name="LM Studio",
        format="json",
        container=("mcpServers",),
        shape="standard",
        ref=None,
        locate=lambda w: w.home / ".lmstudio" / "mcp.json",
    ),
    Client(
        id="qwen-code",
        name="Qwen Code",
        format="jsonc",
        container=("mcpServers",),
        shape="standard",
        ref="${%s}",
        locate=lambda w: w.home / ".qwen" / "settings.json",
    ),
)


def client_by_id(client_id: str) -> Client:
    for client in CLIENTS:
        if client.id == client_id:
            return client
    known = ", ".join(c.id for c in CLIENTS)
    raise ConfigError(f"unknown client {client_id!r}; choose one of {known}")
