"""Each client's config location per OS, from the same variables the OS sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketplace.clients import CLIENTS, Where, client_by_id
from marketplace.errors import ConfigError

LINUX = {"HOME": "/home/u", "XDG_CONFIG_HOME": "/home/u/.config"}
MAC = {"HOME": "/Users/u"}
WIN = {"USERPROFILE": "C:/Users/u", "APPDATA": "C:/Users/u/AppData/Roaming"}
VSCODE_USER = {
    "linux": "/home/u/.config/Code/User",
    "darwin": "/Users/u/Library/Application Support/Code/User",
    "win32": "C:/Users/u/AppData/Roaming/Code/User",
}

EXPECTED = {
    "claude-desktop": (
        "/home/u/.config/Claude/claude_desktop_config.json",
        "/Users/u/Library/Application Support/Claude/claude_desktop_config.json",
        "C:/Users/u/AppData/Roaming/Claude/claude_desktop_config.json",
    ),
    "claude-code": ("/home/u/.claude.json", "/Users/u/.claude.json", "C:/Users/u/.claude.json"),
    "cursor": (
        "/home/u/.cursor/mcp.json",
        "/Users/u/.cursor/mcp.json",
        "C:/Users/u/.cursor/mcp.json",
    ),
    "vscode": tuple(f"{VSCODE_USER[p]}/mcp.json" for p in ("linux", "darwin", "win32")),
    "windsurf": tuple(
        f"{h}/.codeium/windsurf/mcp_config.json" for h in ("/home/u", "/Users/u", "C:/Users/u")
    ),
    "cline": tuple(
        f"{VSCODE_USER[p]}/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json"
        for p in ("linux", "darwin", "win32")
    ),
    "roo-code": tuple(
        f"{VSCODE_USER[p]}/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json"
        for p in ("linux", "darwin", "win32")
    ),
    "continue": tuple(f"{h}/.continue/config.yaml" for h in ("/home/u", "/Users/u", "C:/Users/u")),
    "goose": (
        "/home/u/.config/goose/config.yaml",
        "/Users/u/.config/goose/config.yaml",
        "C:/Users/u/AppData/Roaming/Block/goose/config/config.yaml",
    ),
    "codex": tuple(f"{h}/.codex/config.toml" for h in ("/home/u", "/Users/u", "C:/Users/u")),
    "gemini": tuple(f"{h}/.gemini/settings.json" for h in ("/home/u", "/Users/u", "C:/Users/u")),
    "zed": (
        "/home/u/.config/zed/settings.json",
        "/Users/u/.config/zed/settings.json",
        "C:/Users/u/AppData/Roaming/Zed/settings.json",
    ),
    "opencode": tuple(
        f"{h}/.config/opencode/opencode.json" for h in ("/home/u", "/Users/u", "C:/Users/u")
    ),
    "lm-studio": tuple(f"{h}/.lmstudio/mcp.json" for h in ("/home/u", "/Users/u", "C:/Users/u")),
    "qwen-code": tuple(f"{h}/.qwen/settings.json" for h in ("/home/u", "/Users/u", "C:/Users/u")),
}


@pytest.mark.parametrize("client_id", sorted(EXPECTED))
def test_config_location_per_os(client_id: str) -> None:
    client = client_by_id(client_id)
    for platform, env, expected in zip(
        ("linux", "darwin", "win32"), (LINUX, MAC, WIN), EXPECTED[client_id], strict=True
    ):
        assert client.path(Where(env=env, platform=platform)) == Path(expected), platform


def test_every_client_has_a_location_and_the_overrides_apply() -> None:
    assert {c.id for c in CLIENTS} == set(EXPECTED) | {"vscode-workspace"}
    codex = client_by_id("codex").path(Where(env={**LINUX, "CODEX_HOME": "/srv/codex"}))
    assert codex == Path("/srv/codex/config.toml")
    xdg = client_by_id("zed").path(Where(env={"HOME": "/home/u", "XDG_CONFIG_HOME": "/x"}))
    assert xdg == Path("/x/zed/settings.json")
    workspace = client_by_id("vscode-workspace")
    assert workspace.path(Where(env=LINUX, project=Path("/p"))) == Path("/p/.vscode/mcp.json")
    with pytest.raises(ConfigError, match="per project"):
        workspace.path(Where(env=LINUX))
    with pytest.raises(ConfigError, match="HOME is not set"):
        client_by_id("cursor").path(Where(env={}, platform="linux"))
