"""The three editors: an entry added then removed gives back the original text exactly."""

from __future__ import annotations

import pytest

from marketplace.clients._jsonc import JsoncDocument
from marketplace.clients._toml import TomlDocument
from marketplace.clients._yaml import YamlDocument
from marketplace.errors import ConfigError

ENTRY = {"command": "mgx", "args": ["tool", "serve", "-C", "/p"], "env": {"K": "${env:K}"}}

JSONC = [
    "",
    "{}",
    '{"a": 1}',
    '{ "mcpServers": {} }',
    '{"a": 1, "mcpServers": {"x": {"command": "y"}}}',
    '{\n  "a": 1\n}\n',
    '{\n  // c\n  "mcpServers": {\n    "x": {"command": "y"}, // keep\n  },\n  "z": [1, 2,],\n}\n',
    '{\n\t"mcpServers": {\n\t\t"x": {}\n\t}\n}',
    '{\n  "s": "a // not a comment, \\"quoted\\" /* nor this */",\n  "mcpServers": {}\n}',
]


@pytest.mark.parametrize("text", JSONC)
def test_jsonc_round_trip(text: str) -> None:
    doc = JsoncDocument(text, where="t")
    created = doc.ensure_object(("mcpServers",))
    doc.set_member(("mcpServers",), "mgx-x", ENTRY)
    assert doc.data()["mcpServers"]["mgx-x"] == ENTRY
    doc.set_member(("mcpServers",), "mgx-x", {**ENTRY, "args": []})  # replaced in place
    assert doc.data()["mcpServers"]["mgx-x"]["args"] == []
    assert doc.delete_member(("mcpServers",), "mgx-x")
    if created:
        doc.delete_if_empty(("mcpServers",))
    assert doc.text == (text if text else "{}\n")


@pytest.mark.parametrize("text", ['{"a": }', "[1, 2]", '{"a": 1} x', '{"a": "open'])
def test_jsonc_refuses_broken_files(text: str) -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        JsoncDocument(text, where="cfg.json")


TOML = [
    "",
    'model = "x"\n',
    '# c\nmodel = "o3"\n\n[mcp_servers.a]\ncommand = "npx"  # k\n\n[tui]\nx = 1\n',
]


@pytest.mark.parametrize("text", TOML)
def test_toml_round_trip(text: str) -> None:
    doc = TomlDocument(text, where="t")
    created = doc.ensure_object(("mcp_servers",))
    doc.set_member(("mcp_servers",), "mgx-x", {"command": "mgx", "args": ["a"]})
    assert doc.data()["mcp_servers"]["mgx-x"] == {"command": "mgx", "args": ["a"]}
    doc.delete_member(("mcp_servers",), "mgx-x")
    if created:
        doc.delete_if_empty(("mcp_servers",))
    assert doc.text == text


YAML = [
    ("name: x\n", False),
    ("a: 1\nextensions:\n  dev:\n    enabled: true  # c\n\nb: 2\n", False),
    ("name: cfg\nmcpServers:\n- name: o\n  command: npx\n", True),
    ("name: cfg\nmcpServers:\n  - name: o\n    command: npx\n# tail\n", True),
]


@pytest.mark.parametrize(("text", "as_list"), YAML)
def test_yaml_round_trip(text: str, as_list: bool) -> None:
    key = "mcpServers" if as_list else "extensions"
    doc = YamlDocument(text, where="t")
    created = doc.ensure_object((key,))
    value = {"name": "mgx-x", "command": "mgx", "args": ["a: b", "#not"], "env": {}}
    doc.set_member((key,), "mgx-x", value, as_list=as_list)
    section = doc.data()[key]
    got = next(s for s in section if s["name"] == "mgx-x") if as_list else section["mgx-x"]
    assert got == value
    doc.delete_member((key,), "mgx-x")
    if created:
        doc.delete_if_empty((key,))
    assert doc.text == text


def test_yaml_inline_section_is_refused() -> None:
    doc = YamlDocument("extensions: {}\n", where="cfg.yaml")
    with pytest.raises(ConfigError, match="inline"):
        doc.set_member(("extensions",), "mgx-x", {"cmd": "mgx"})
