"""mgx.toml: validation with one-line errors, edits that keep comments, a round-trip property."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.errors import ConfigError
from marketplace.manifest import ToolRequirement, edit_manifest, parse_manifest

FULL = """\
# Our team's tools.
[registries]
team = "https://mcp.example.com/"

[policy]
verify = "require"  # signatures must check out

[tools]
"io.github.a/time" = "^1.2"   # pinned to 1.x
"io.github.b/gh" = { version = "~2.0.1", type = "npm", registry = "team", \
env = { GITHUB_TOKEN = { env = "GH_TOKEN" } }, \
args = { config_path = "/etc/x.json", port = 8080, debug = true }, resolve = "now" }

[toolsets.research]
tools = ["io.github.a/time", "io.github.b/gh"]
"""


def test_full_manifest() -> None:
    m = parse_manifest(FULL)
    assert m.registries == {"team": "https://mcp.example.com"}
    assert m.policy.verify == "require"
    assert m.tools["io.github.a/time"] == ToolRequirement(name="io.github.a/time", version="^1.2")
    gh = m.tools["io.github.b/gh"]
    assert (gh.version, gh.type, gh.registry, gh.resolve) == ("~2.0.1", "npm", "team", "now")
    assert gh.env == {"GITHUB_TOKEN": "GH_TOKEN"}
    assert gh.args == {"config_path": "/etc/x.json", "port": "8080", "debug": "true"}
    assert m.toolsets == {"research": ("io.github.a/time", "io.github.b/gh")}
    assert list(m.tools) == ["io.github.a/time", "io.github.b/gh"]  # file order


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[tools]\nx = '1'", "is not a server name"),
        ("[tools]\n'a/b' = 3", "version string or a table"),
        ("[tools]\n'a/b' = { version = '^1', flavour = 'x' }", "unknown key 'flavour'"),
        ("[tools]\n'a/b' = { type = 'cargo' }", "type must be one of"),
        ("[tools]\n'a/b' = { resolve = 'yesterday' }", "resolve must be one of"),
        ("[tools]\n'a/b' = '^^1'", "invalid version specifier"),
        ("[tools]\n'a/b' = { env = { T = { env = 'not a var' } } }", "environment variable name"),
        ("[tools]\n'a/b' = { env = { T = { value = 'x' } } }", "must be { env"),
        ("[tools]\n'a/b' = { registry = 'team' }", "not declared in [registries]"),
        ("[tools]\n'a/b' = { args = { x = [1] } }", "string, number or boolean"),
        ("[policy]\nverify = 'maybe'", "policy.verify must be one of"),
        ("[registries]\nteam = 'ftp://x'", "http(s) URL"),
        ("[toolsets.r]\ntools = ['a/b']", "'a/b' is not in [tools]"),
        ("[toolsets.r]\nmembers = []", "keys tools = [...], allow, deny"),
        ("[plugins]\nx = 1", "unknown section 'plugins'"),
        ("[tools\n", "not valid TOML"),
    ],
)
def test_invalid_manifests(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_manifest(text)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_secret_values_are_refused_without_echoing_them() -> None:
    text = "[tools]\n'a/b' = { env = { GITHUB_TOKEN = 'ghp_abcdef123456' } }"
    with pytest.raises(ConfigError) as info:
        parse_manifest(text)
    message = str(info.value)
    assert "never stores secret values" in message and 'GITHUB_TOKEN = { env = "' in message
    assert "ghp_abcdef123456" not in message


def test_edits_keep_comments_and_order() -> None:
    editor = edit_manifest(FULL)
    editor.set_tool(ToolRequirement(name="io.github.a/time", version="^1.3"))
    editor.set_tool(ToolRequirement(name="io.github.c/new", version="^0.1.0", type="pypi"))
    editor.add_to_toolset("research", "io.github.c/new")
    editor.add_to_toolset("fresh", "io.github.c/new")
    editor.remove_tool("io.github.b/gh")
    text = editor.text()
    for comment in ("# Our team's tools.", "# signatures must check out", "# pinned to 1.x"):
        assert comment in text
    m = parse_manifest(text)
    assert list(m.tools) == ["io.github.a/time", "io.github.c/new"]
    assert m.tools["io.github.a/time"].version == "^1.3"
    assert m.tools["io.github.c/new"].type == "pypi"
    assert m.toolsets == {
        "research": ("io.github.a/time", "io.github.c/new"),
        "fresh": ("io.github.c/new",),
    }
    # An inline-table entry keeps its form and other keys when only the version changes.
    editor = edit_manifest(FULL)
    gh = parse_manifest(FULL).tools["io.github.b/gh"]
    editor.set_tool(ToolRequirement(**{**gh.__dict__, "version": "^3"}))
    assert parse_manifest(editor.text()).tools["io.github.b/gh"].env == gh.env
    assert not edit_manifest(FULL).changed


names = st.from_regex(r"io\.github\.[a-z][a-z0-9-]{0,8}/[a-z][a-z0-9._-]{0,10}", fullmatch=True)
idents = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
specs = st.sampled_from(["latest", "^1.2", "~1.2.3", ">=1 <2", "1.x", "2025.9.25", "0.0.1-seed"])
requirements = st.builds(
    ToolRequirement,
    name=names,
    version=specs,
    type=st.sampled_from(["", "pypi", "npm", "mcpb", "oci", "remote"]),
    resolve=st.sampled_from(["publish", "now"]),
    env=st.dictionaries(idents, idents, max_size=3),
    args=st.dictionaries(
        idents, st.text(st.characters(blacklist_characters="\x00"), max_size=12), max_size=3
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(requirements, max_size=6, unique_by=lambda r: r.name), st.data())
def test_round_trip(reqs: list[ToolRequirement], data: st.DataObject) -> None:
    editor = edit_manifest('# header comment\n[policy]\nverify = "off"  # trailing\n')
    for req in reqs:
        editor.set_tool(req)
    members = (
        data.draw(st.lists(st.sampled_from([r.name for r in reqs]), unique=True)) if reqs else []
    )
    for member in members:
        editor.add_to_toolset("set-1", member)
    text = editor.text()
    parsed = parse_manifest(text)
    assert list(parsed.tools.values()) == reqs
    assert parsed.toolsets.get("set-1", ()) == tuple(members)
    assert parsed.policy.verify == "off" and "# trailing" in text and "# header comment" in text
    # Writing what was read gives the same text (no drift across edits).
    again = edit_manifest(text)
    for req in parsed.tools.values():
        again.set_tool(req)
    assert again.text() == text
