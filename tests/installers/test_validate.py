"""Identifier, version, name and argument validation: what may reach argv or a path."""

from __future__ import annotations

import pytest

from marketplace.errors import ConfigError, InstallError
from marketplace.installers import validate_argument_value, validate_identifier, validate_version
from marketplace.installers._validate import (
    validate_env_name,
    validate_file_name,
    validate_relative_path,
)


@pytest.mark.parametrize(
    ("kind", "identifier"),
    [
        ("pypi", "mcp-server-time"),
        ("pypi", "time_mcp.pypi"),
        ("npm", "@modelcontextprotocol/server-everything"),
        ("npm", "airtable-mcp-server"),
        ("oci", "docker.io/domdomegg/airtable-mcp-server:1.7.2"),
        ("oci", "ghcr.io/github/github-mcp-server"),
        ("oci", "127.0.0.1:5000/tools/echo:1.0"),
        ("mcpb", "https://github.com/o/r/releases/download/v1/x.mcpb"),
        ("mcpb", "http://127.0.0.1:8080/x.mcpb"),
    ],
)
def test_valid_identifiers_pass(kind: str, identifier: str) -> None:
    validate_identifier(kind, identifier)


@pytest.mark.parametrize(
    ("kind", "identifier", "fragment"),
    [
        ("pypi", "--index-url=https://evil.example/simple", "starts with '-'"),
        ("pypi", "-e", "starts with '-'"),
        ("pypi", "../../etc/passwd", "not a valid project name"),
        ("pypi", "pkg/sub", "not a valid project name"),
        ("pypi", "pkg\x00evil", "NUL"),
        ("pypi", "pkg name", "not a valid project name"),
        ("npm", "@scope/../../x", "not a valid package name"),
        ("npm", "a/b/c", "not a valid package name"),
        ("npm", "--registry=http://evil", "starts with '-'"),
        ("npm", "..", "not a valid package name"),
        ("oci", "docker.io/../etc:1", "not a valid image reference"),
        ("oci", "-v/:/host", "starts with '-'"),
        ("oci", "image name with spaces", "not a valid image reference"),
        ("mcpb", "http://example.com/x.mcpb", "must be an https"),
        ("mcpb", "file:///etc/passwd", "must be an https"),
        ("mcpb", "https://user:pw@example.com/x.mcpb", "credentials"),
        ("nuget", "../x", "not a valid package id"),
        ("nuget", "Pkg/Sub", "not a valid package id"),
        ("nuget", "--source=http://evil", "starts with '-'"),
        ("nuget", "a..b", "not a valid package id"),
    ],
)
def test_bad_identifiers_are_refused(kind: str, identifier: str, fragment: str) -> None:
    with pytest.raises(InstallError, match="refus|not a valid|must be|credentials") as info:
        validate_identifier(kind, identifier)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "version", ["1.0.0", "2025.9.25", "1.0.0rc1", "1.0.0+local.1", "0.1.0-beta.2"]
)
def test_exact_versions_pass(version: str) -> None:
    validate_version(version)


@pytest.mark.parametrize("version", ["^1.2", ">=1 <2", "1.0/../x", "-1", "", "1..2", "1.0\x00"])
def test_non_exact_versions_are_refused(version: str) -> None:
    with pytest.raises(InstallError):
        validate_version(version)


@pytest.mark.parametrize("name", ["../bin", "a/b", "-x", "", "..", "a\x00"])
def test_entry_point_names_must_be_plain_files(name: str) -> None:
    with pytest.raises(InstallError):
        validate_file_name(name, "console script")


@pytest.mark.parametrize("path", ["../x", "/abs", "a/../../b", "a\\b", "-rf"])
def test_relative_paths_cannot_escape(path: str) -> None:
    with pytest.raises(InstallError):
        validate_relative_path(path, "archive member")


def test_env_names() -> None:
    validate_env_name("GITHUB_TOKEN")
    for bad in ("1ABC", "A-B", "A B", "-X", "A=B"):
        with pytest.raises(InstallError):
            validate_env_name(bad)


def test_argument_values() -> None:
    # Shell metacharacters are harmless: values are argv items, never parsed by a shell.
    validate_argument_value("q", "; rm -rf ~ && echo $(id)", positional=True)
    validate_argument_value("path", "/home/me/../notes", positional=True, format="filepath")
    validate_argument_value("n", "-3", positional=True, format="number")
    with pytest.raises(ConfigError, match="read as an option"):
        validate_argument_value("q", "--exec=evil", positional=True)
    with pytest.raises(ConfigError, match="NUL"):
        validate_argument_value("q", "a\x00b", positional=False)
    with pytest.raises(ConfigError, match="control character"):
        validate_argument_value("q", "a\nb", positional=False)
    with pytest.raises(ConfigError, match="not one of: a, b"):
        validate_argument_value("q", "c", positional=False, choices=("a", "b"))
    with pytest.raises(ConfigError, match="not a number"):
        validate_argument_value("port", "80x", positional=False, format="number")
    with pytest.raises(ConfigError, match="'true' or 'false'"):
        validate_argument_value("flag", "yes", positional=False, format="boolean")


def test_secret_values_never_appear_in_messages() -> None:
    with pytest.raises(ConfigError) as info:
        validate_argument_value("token", "-secret-value", positional=True, secret=True)
    assert "secret-value" not in str(info.value)
