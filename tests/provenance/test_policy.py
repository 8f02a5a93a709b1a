"""The policy vocabulary, signer identity rules and registry URL rules (pure functions)."""

from __future__ import annotations

import pytest

from marketplace.errors import ConfigError, VerificationError
from marketplace.manifest import parse_manifest
from marketplace.provenance import effective, parse_mode
from marketplace.provenance.identity import (
    SignerIdentity,
    check_identity_change,
    check_source,
    normalise_repository,
)
from marketplace.registries import add_registry, all_registries, redact_url
from marketplace.settings import Settings

TOOL = '"io.github.a/b"'


def test_warn_reads_as_prefer_with_a_note() -> None:
    m = parse_manifest('[policy]\nverify = "warn"\n')
    assert m.policy.verify == "prefer"
    assert m.policy.notes and 'read as "prefer"' in m.policy.notes[0]
    assert parse_manifest("").policy.verify == "prefer"
    assert parse_mode("warn", where="--verify")[0] == "prefer"


@pytest.mark.parametrize(
    "text", ['[policy]\nverify = "maybe"\n', f'[tools]\n{TOOL} = {{ verify = "warn" }}\n']
)
def test_unknown_modes_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="must be one of require, prefer, off"):
        parse_manifest(text)


def test_precedence_command_line_then_tool_then_project() -> None:
    m = parse_manifest(f'[policy]\nverify = "off"\n[tools]\n{TOOL} = {{ verify = "require" }}\n')
    req = m.tools["io.github.a/b"]
    assert req.verify == "require" and not req.is_simple
    assert effective(m.policy.verify, req.verify, None) == "require"
    assert effective(m.policy.verify, req.verify, "prefer") == "prefer"
    assert effective(m.policy.verify, "", None) == "off"


def test_manifest_registry_urls_carry_no_credentials() -> None:
    with pytest.raises(ConfigError) as err:
        parse_manifest('[registries]\nteam = "https://u:pw@mcp.example.com"\n')
    assert "pw" not in str(err.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("git+https://github.com/Owner/Repo.git", "https://github.com/owner/repo"),
        ("https://github.com/owner/repo/", "https://github.com/owner/repo"),
        ("git@github.com:owner/repo.git", "https://github.com/owner/repo"),
    ],
)
def test_repository_urls_compare_normalised(url: str, expected: str) -> None:
    assert normalise_repository(url) == expected


def test_identity_rules() -> None:
    signer = SignerIdentity(
        issuer="https://token.actions.githubusercontent.com",
        repository="https://github.com/owner/repo",
        workflow="https://github.com/owner/repo/.github/workflows/release.yml@refs/tags/v1",
    )
    check_source(signer, "https://github.com/Owner/repo.git", what="x")
    with pytest.raises(VerificationError, match="owner/other"):
        check_source(signer, "https://github.com/owner/other", what="x")
    other_workflow = SignerIdentity(
        issuer=signer.issuer,
        repository=signer.repository,
        workflow="https://github.com/owner/repo/.github/workflows/evil.yml@refs/heads/x",
    )
    with pytest.raises(VerificationError, match="evil.yml"):
        check_identity_change(signer, other_workflow, what="x", allow=False)
    with pytest.raises(VerificationError, match="no verified signer"):
        check_identity_change(signer, None, what="x", allow=False)
    check_identity_change(signer, None, what="x", allow=True)
    check_identity_change(None, other_workflow, what="x", allow=False)  # first use


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:9", "https://mcp.example.com"],
)
def test_loopback_http_and_https_are_accepted(settings: Settings, url: str) -> None:
    assert add_registry(settings, "team", url).insecure is False


def test_insecure_is_recorded(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="--insecure"):
        add_registry(settings, "team", "http://10.0.0.5")
    assert not settings.config_file.exists()
    add_registry(settings, "team", "http://10.0.0.5", insecure=True)
    team = next(r for r in all_registries(settings) if r.name == "team")
    assert team.insecure and team.url == "http://10.0.0.5"


def test_redaction() -> None:
    text = "GET https://alice:pw@host/x failed; see http://bob@h2"
    assert redact_url(text) == "GET https://***@host/x failed; see http://***@h2"
