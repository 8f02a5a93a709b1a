"""PackageLock <-> plain data: round trip, determinism, TOML-ability, malformed input."""

from __future__ import annotations

import json

import pytest
import tomlkit
from hypothesis import given
from hypothesis import strategies as st

from marketplace.errors import LockError
from marketplace.installers import (
    Artifact,
    InputSpec,
    Invocation,
    KeyValueSpec,
    LockedDependency,
    PackageLock,
)

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)

locks = st.builds(
    PackageLock,
    registry_type=st.sampled_from(["pypi", "npm", "mcpb", "oci", "remote"]),
    identifier=names,
    version=text,
    registry_base_url=text,
    artifacts=st.lists(st.builds(Artifact, name=names, digest=text), max_size=3).map(tuple),
    cutoff=text,
    python=text,
    allow_scripts=st.booleans(),
    closure=st.lists(
        st.builds(
            LockedDependency,
            name=names,
            version=text,
            hashes=st.lists(text.filter(bool), max_size=2).map(tuple),
            marker=text,
            resolved=text,
            extra=st.dictionaries(
                names,
                st.one_of(
                    st.booleans(),
                    text.filter(bool),
                    st.dictionaries(names, text.filter(bool), min_size=1),
                ),
                max_size=3,
            ),
        ),
        max_size=3,
    ).map(tuple),
    invocation=st.builds(
        Invocation,
        transport=st.sampled_from(["stdio", "streamable-http", "sse"]),
        command=text,
        args=st.lists(st.lists(text, min_size=1, max_size=3).map(tuple), max_size=3).map(tuple),
        url=text,
        env=st.lists(
            st.builds(
                KeyValueSpec,
                name=names,
                value=text,
                required=st.booleans(),
                secret=st.booleans(),
                default=text,
            ),
            max_size=2,
        ).map(tuple),
        headers=st.lists(st.builds(KeyValueSpec, name=names, value=text), max_size=2).map(tuple),
        inputs=st.lists(
            st.builds(
                InputSpec,
                name=names,
                required=st.booleans(),
                secret=st.booleans(),
                default=text,
                format=st.sampled_from(["string", "number", "boolean", "filepath"]),
                choices=st.lists(text, max_size=2).map(tuple),
            ),
            max_size=2,
        ).map(tuple),
    ),
)


def _has_none(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_none(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_none(v) for v in value)
    return False


@given(locks)
def test_round_trip_through_toml(lock: PackageLock) -> None:
    data = lock.to_dict()
    assert not _has_none(data)
    doc = tomlkit.dumps({"package": data})
    back = PackageLock.from_dict(tomlkit.parse(doc)["package"])
    assert back == lock
    # Same value -> byte-identical serialisation.
    assert tomlkit.dumps({"package": back.to_dict()}) == doc


def test_empty_fields_are_left_out() -> None:
    lock = PackageLock(registry_type="remote", identifier="io.x/y", version="1.0.0")
    assert lock.to_dict() == {
        "registry_type": "remote",
        "identifier": "io.x/y",
        "version": "1.0.0",
        "invocation": {"transport": "stdio"},
    }


def test_extra_keys_are_sorted_for_determinism() -> None:
    a = LockedDependency(name="n", version="1", extra={"b": 1, "a": {"z": "1", "y": "2"}})
    assert (
        json.dumps(a.to_dict())
        == '{"name": "n", "version": "1", "extra": {"a": {"y": "2", "z": "1"}, "b": 1}}'
    )


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"identifier": "x"}, "missing 'registry_type'"),
        ({"registry_type": "pypi", "identifier": 3}, "package.identifier: expected str"),
        (
            {"registry_type": "pypi", "identifier": "x", "closure": [{"version": "1"}]},
            "missing 'name'",
        ),
        ({"registry_type": "pypi", "identifier": "x", "invocation": {"args": ["flat"]}}, "args[0]"),
        ({"registry_type": "pypi", "identifier": "x", "artifacts": "nope"}, "expected list"),
    ],
)
def test_malformed_lock_data_names_the_field(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(LockError) as info:
        PackageLock.from_dict(data)
    assert fragment in str(info.value)
