"""Configured registries in config.toml: add, list, remove; tokens stay in the environment."""

from __future__ import annotations

import pytest

from marketplace.errors import ConfigError
from marketplace.registries import (
    add_registry,
    all_registries,
    get_registry,
    load_registries,
    remove_registry,
)
from marketplace.settings import OFFICIAL_REGISTRY, Settings


def test_official_is_there_by_default(settings: Settings) -> None:
    assert not settings.config_file.exists()
    (official,) = load_registries(settings)
    assert official.name == "official" and official.url == OFFICIAL_REGISTRY


def test_add_list_remove(settings: Settings) -> None:
    add_registry(settings, "team", "https://mcp.example.com/", token_env="TEAM_TOKEN")
    assert [r.name for r in load_registries(settings)] == ["official", "team"]
    team = get_registry(settings, "team")
    assert team.url == "https://mcp.example.com" and team.token_env == "TEAM_TOKEN"
    assert team.token({"TEAM_TOKEN": "abc"}) == "abc" and team.token({}) is None
    remove_registry(settings, "team")
    assert [r.name for r in load_registries(settings)] == ["official"]
    with pytest.raises(ConfigError, match="no registry named 'team'"):
        get_registry(settings, "team")


def test_removing_official_disables_it_and_adding_restores(settings: Settings) -> None:
    remove_registry(settings, "official")
    assert load_registries(settings) == []
    assert [r.enabled for r in all_registries(settings)] == [False]
    with pytest.raises(ConfigError, match="disabled"):
        get_registry(settings, "official")
    add_registry(settings, "official", OFFICIAL_REGISTRY)
    assert [r.name for r in load_registries(settings)] == ["official"]


def test_token_values_are_never_written(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM_TOKEN", "super-secret-token-value")
    add_registry(settings, "team", "https://mcp.example.com", token_env="TEAM_TOKEN")
    text = settings.config_file.read_text()
    assert "TEAM_TOKEN" in text and "super-secret-token-value" not in text
    assert get_registry(settings, "team").token() == "super-secret-token-value"


def test_user_comments_survive_and_writes_are_atomic(settings: Settings) -> None:
    settings.config_dir.mkdir(parents=True)
    settings.config_file.write_text("# my settings\n[other]\nkeep = 1\n")
    add_registry(settings, "team", "https://mcp.example.com")
    text = settings.config_file.read_text()
    assert text.startswith("# my settings") and "keep = 1" in text
    leftovers = [
        p.name
        for p in settings.config_dir.iterdir()
        if p.name not in ("config.toml", "config.toml.lock")
    ]
    assert leftovers == []


@pytest.mark.parametrize(
    ("name", "url", "env", "message"),
    [
        ("Team!", "https://x.example", None, "invalid registry name"),
        ("team", "ftp://x.example", None, "invalid registry URL"),
        ("team", "https://x.example", "NOT-A-VAR", "invalid --token-env"),
    ],
)
def test_bad_input_is_refused(
    settings: Settings, name: str, url: str, env: str | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        add_registry(settings, name, url, token_env=env)
    assert not settings.config_file.exists()


def test_broken_config_is_a_clear_error(settings: Settings) -> None:
    settings.config_dir.mkdir(parents=True)
    settings.config_file.write_text("[registries\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_registries(settings)
    settings.config_file.write_text('[registries.team]\nurl = "nope"\n')
    with pytest.raises(ConfigError, match="registries.team.url"):
        load_registries(settings)
