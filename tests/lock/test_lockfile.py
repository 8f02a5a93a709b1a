"""mgx.lock: deterministic text, round trips (hypothesis), errors, satisfaction, atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace._fs import atomic_write
from marketplace.errors import LockError
from marketplace.installers import (
    Artifact,
    InputSpec,
    Invocation,
    KeyValueSpec,
    LockedDependency,
    PackageLock,
)
from marketplace.lockfile import LockedTool, Lockfile, dumps, loads, unsatisfied
from marketplace.manifest import parse_manifest

words = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=1, max_size=12)
hexes = st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True)
names = st.from_regex(r"io\.github\.[a-z]{1,6}/[a-z][a-z0-9-]{0,8}", fullmatch=True)
plain = st.recursive(
    st.one_of(st.booleans(), st.integers(-5, 5), words),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True), inner, max_size=3),
    ),
    max_leaves=6,
)
packages = st.builds(
    PackageLock,
    registry_type=st.sampled_from(["pypi", "npm", "mcpb", "oci", "remote"]),
    identifier=words,
    version=st.one_of(st.just(""), words),
    registry_base_url=st.sampled_from(["", "https://pypi.org"]),
    artifacts=st.lists(st.builds(Artifact, name=words, digest=hexes), max_size=2).map(tuple),
    cutoff=st.sampled_from(["", "now", "2025-09-12T02:14:45Z"]),
    python=st.sampled_from(["", "3.11"]),
    allow_scripts=st.booleans(),
    closure=st.lists(
        st.builds(
            LockedDependency,
            name=words,
            version=words,
            hashes=st.lists(hexes, max_size=3).map(tuple),
            marker=st.sampled_from(["", "python_version >= '3.10'"]),
            extra=st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), plain, max_size=2),
        ),
        max_size=3,
    ).map(tuple),
    invocation=st.builds(
        Invocation,
        transport=st.sampled_from(["stdio", "streamable-http", "sse"]),
        command=st.sampled_from(["", "node", "{tool_dir}/venv/bin/x"]),
        args=st.lists(st.lists(words, min_size=1, max_size=2).map(tuple), max_size=3).map(tuple),
        url=st.sampled_from(["", "https://example.com/mcp/{tenant}"]),
        env=st.lists(
            st.builds(
                KeyValueSpec,
                name=st.from_regex(r"[A-Z_]{1,8}", fullmatch=True),
                secret=st.booleans(),
            ),
            max_size=2,
        ).map(tuple),
        inputs=st.lists(
            st.builds(
                InputSpec,
                name=st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
                required=st.booleans(),
            ),
            max_size=2,
        ).map(tuple),
    ),
)
tools = st.builds(
    LockedTool,
    name=names,
    version=words,
    registry=st.sampled_from(["https://registry.modelcontextprotocol.io", "http://127.0.0.1:9"]),
    package=packages,
    spec=st.sampled_from(["latest", "^1.2", "1.0.0"]),
    type=st.sampled_from(["", "pypi"]),
    resolve=st.sampled_from(["publish", "now"]),
    env=st.dictionaries(
        st.from_regex(r"[A-Z]{1,5}", fullmatch=True),
        st.from_regex(r"[A-Z]{1,5}", fullmatch=True),
        max_size=2,
    ),
    args=st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True), words, max_size=2),
    published_at=st.sampled_from(["", "2025-10-01T00:00:00Z"]),
)


@st.composite
def lockfiles(draw: st.DrawFn) -> Lockfile:
    items = draw(st.lists(tools, max_size=4, unique_by=lambda t: t.name))
    by_name = {t.name: t for t in items}
    sets = {}
    if items:
        for set_name in draw(
            st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), max_size=2, unique=True)
        ):
            members = draw(st.lists(st.sampled_from(list(by_name)), min_size=1, unique=True))
            sets[set_name] = tuple(sorted(members))
    return Lockfile(tools=by_name, toolsets=sets)


@settings(max_examples=150, deadline=None)
@given(lockfiles())
def test_round_trip_and_determinism(lock: Lockfile) -> None:
    text = dumps(lock)
    back = loads(text)
    assert back == lock
    assert dumps(back) == text  # byte-identical on rewrite
    # Insertion order does not matter: the same data in another order gives the same bytes.
    reordered = Lockfile(
        tools=dict(reversed(list(lock.tools.items()))),
        toolsets={k: tuple(reversed(v)) for k, v in reversed(list(lock.toolsets.items()))},
    )
    assert dumps(reordered) == text
    assert text.startswith("# mgx.lock") and "\nversion = 1\n" in text


def test_errors_name_the_problem() -> None:
    with pytest.raises(LockError, match="not valid TOML"):
        loads("version = 1\n[tools\n")
    with pytest.raises(LockError, match="format version 2"):
        loads("version = 2\n")
    with pytest.raises(LockError, match="must be the integer 1 .*; found no version key"):
        loads("[tools]\n")
    with pytest.raises(LockError, match="found '1', a str"):
        loads('version = "1"\n')
    with pytest.raises(LockError, match="unknown key 'extra'"):
        loads("version = 1\nextra = 1\n")
    with pytest.raises(LockError, match="missing its \\[package\\] table"):
        loads('version = 1\n[tools."a/b"]\nserver = "a/b"\nversion = "1"\n')
    with pytest.raises(LockError, match="not the table's name"):
        loads('version = 1\n[tools."a/b"]\nserver = "a/c"\nversion = "1"\n')
    with pytest.raises(LockError, match="package: missing 'identifier'"):
        loads(
            'version = 1\n[tools."a/b"]\nserver = "a/b"\nversion = "1"\n'
            '[tools."a/b".package]\nregistry_type = "pypi"\n'
        )
    with pytest.raises(LockError, match="not locked"):
        loads('version = 1\n[toolsets]\nr = ["a/b"]\n')


def test_unsatisfied_reasons() -> None:
    pkg = PackageLock(registry_type="npm", identifier="x", version="1.2.3")
    tool = LockedTool(
        name="io.x/y", version="1.2.3", registry="https://r", package=pkg, spec="^1.2"
    )
    lock = Lockfile(tools={"io.x/y": tool})
    ok = parse_manifest('[tools]\n"io.x/y" = "^1.2"\n')
    assert unsatisfied(ok, lock) == []
    assert unsatisfied(parse_manifest('[tools]\n"io.x/y" = "~1.2.0"\n'), lock) == []
    cases = {
        '[tools]\n"io.x/y" = "^2"\n': "does not satisfy '^2'",
        '[tools]\n"io.x/y" = { version = "^1.2", type = "pypi" }\n': "asks for a pypi package",
        '[tools]\n"io.x/y" = { version = "^1.2", resolve = "now" }\n': "resolve = 'now'",
        '[tools]\n"io.x/y" = { version = "^1.2", env = { T = { env = "U" } } }\n': "env bindings",
        '[tools]\n"io.x/y" = { version = "^1.2", args = { a = "1" } }\n': "args changed",
        '[tools]\n"io.x/y" = "^1.2"\n"io.x/z" = "^1"\n': "io.x/z is in mgx.toml but not in",
        "": "io.x/y is locked but no longer in mgx.toml",
        '[tools]\n"io.x/y" = "^1.2"\n[toolsets.r]\ntools = ["io.x/y"]\n': "[toolsets]",
    }
    for text, fragment in cases.items():
        problems = unsatisfied(parse_manifest(text), lock)
        assert any(fragment in p for p in problems), (text, problems)
    assert unsatisfied(parse_manifest(""), None) == []
    assert unsatisfied(ok, None) == ["there is no mgx.lock"]


def test_atomic_write_keeps_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "mgx.lock"
    atomic_write(target, "one\n")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    target.chmod(0o640)
    atomic_write(target, "two\n")
    assert target.read_text() == "two\n" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mgx.lock"]
