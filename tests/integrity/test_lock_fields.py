"""The lock's and manifest's integrity fields: written deterministically, read back, checked."""

from __future__ import annotations

import pytest

from marketplace.errors import ConfigError, LockError
from marketplace.installers import Invocation, PackageLock
from marketplace.lockfile import LockedTool, Lockfile, dumps, loads, unsatisfied
from marketplace.manifest import parse_manifest
from marketplace.tool_pins import ToolPins

NAME = "io.github.test/echo"


def tool(**kwargs: object) -> LockedTool:
    package = PackageLock(
        registry_type="mcpb",
        identifier="http://127.0.0.1/echo.mcpb",
        invocation=Invocation(command="python", args=(("{tool_dir}/server/main.py",),)),
    )
    return LockedTool(name=NAME, version="1.0.0", registry="", package=package, **kwargs)  # type: ignore[arg-type]


def test_integrity_fields_round_trip() -> None:
    pins = ToolPins(digest="sha256:" + "a" * 64, tools={"b": "sha256:" + "b" * 64, "a": "x"})
    locked = tool(server_json="sha256:" + "c" * 64, tool_pins=pins)
    text = dumps(Lockfile(tools={NAME: locked}))
    assert loads(text).tools[NAME] == locked
    assert text.index('server_json = "sha256:') < text.index(
        '[tools."io.github.test/echo".tool_pins]'
    )
    assert "pin_tools" not in text  # the default is left out
    off = tool(pin_tools=False)
    assert "pin_tools = false" in dumps(Lockfile(tools={NAME: off}))
    assert loads(dumps(Lockfile(tools={NAME: off}))).tools[NAME].pin_tools is False


def test_malformed_integrity_fields_are_refused() -> None:
    text = dumps(Lockfile(tools={NAME: tool()}))
    with pytest.raises(LockError, match="pin_tools must be true or false"):
        loads(text.replace('spec = "latest"', 'spec = "latest"\npin_tools = "no"'))
    with pytest.raises(LockError, match="tool_pins"):
        loads(text + f'\n[tools."{NAME}".tool_pins]\ndigest = 3\n')


def test_pin_tools_in_the_manifest_must_match_the_lock() -> None:
    manifest = parse_manifest(f'[tools]\n"{NAME}" = {{ version = "latest", pin_tools = false }}\n')
    assert manifest.tools[NAME].pin_tools is False
    lock = Lockfile(tools={NAME: tool()})
    assert unsatisfied(manifest, lock) == [f"{NAME}: pin_tools changed in mgx.toml"]
    assert unsatisfied(manifest, Lockfile(tools={NAME: tool(pin_tools=False)})) == []
    with pytest.raises(ConfigError, match="pin_tools must be true or false"):
        parse_manifest(f'[tools]\n"{NAME}" = {{ version = "latest", pin_tools = "off" }}\n')
