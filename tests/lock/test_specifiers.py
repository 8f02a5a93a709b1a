"""Version specifiers: examples, and hypothesis properties against an independent oracle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.errors import ResolutionError
from marketplace.specifiers import matches, parse_spec, select

VERSIONS = ["2.0.0", "1.3.0-rc.1", "1.2.10", "1.2.9", "1.1.0", "1.0.0", "0.3.1", "0.0.4"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("latest", "2.0.0"),
        ("", "2.0.0"),
        ("*", "2.0.0"),
        ("^1.2", "1.2.10"),  # numeric, not lexical: 10 > 9
        ("~1.2.3", "1.2.10"),
        (">=1 <2", "1.2.10"),
        ("1.x", "1.2.10"),
        ("1.1", "1.1.0"),
        ("1.0.0", "1.0.0"),
        ("=1.0.0", "1.0.0"),
        ("^0.3", "0.3.1"),
        ("^0.0.4", "0.0.4"),
        ("1.3.0-rc.1", "1.3.0-rc.1"),  # an exact prerelease pin is honoured
        (">=1.3.0-rc.1", "2.0.0"),
        ("<1.3.0 || ^2", "2.0.0"),
        ("1.0.0 - 1.2.9", "1.2.9"),
    ],
)
def test_select_examples(spec: str, expected: str) -> None:
    assert select(spec, VERSIONS) == expected


def test_prereleases_only_when_asked() -> None:
    assert select("^1.2", VERSIONS) == "1.2.10"
    assert select("^1.2", VERSIONS, prerelease=True) == "1.3.0-rc.1"
    assert select("latest", ["1.0.0-beta.2", "1.0.0-beta.1"]) == "1.0.0-beta.2"


def test_registry_latest_wins_for_latest() -> None:
    # The registry says 1.2.9 is current (e.g. 2.0.0 was published and yanked to a branch).
    assert select("latest", VERSIONS, latest="1.2.9") == "1.2.9"
    assert select("latest", VERSIONS, latest="1.3.0-rc.1") == "2.0.0"  # unless a prerelease


def test_non_semver_versions() -> None:
    odd = ["20250925-build", "2025.09.25", "1.0.0.1", "v1.4"]
    assert select("1.0.0.1", odd) == "1.0.0.1"  # exact text
    assert select("^2025.9", odd) == "2025.09.25"  # read as 2025.9.25
    assert select("^1.4", odd) == "v1.4"
    assert select("latest", ["nightly", "stable"]) == "nightly"  # registry order decides
    with pytest.raises(ResolutionError, match="available: nightly, stable"):
        select("^1", ["nightly", "stable"], name="io.x/y")


def test_no_match_lists_versions_and_names_the_server() -> None:
    with pytest.raises(ResolutionError) as info:
        select("^3", VERSIONS, name="io.github.x/y")
    assert str(info.value).startswith("no version matches io.github.x/y@^3 (available: 2.0.0,")
    many = [f"1.0.{i}" for i in range(40)]
    with pytest.raises(ResolutionError, match=r"\(40 in all\)"):
        select("^2", many)


@pytest.mark.parametrize("bad", ["^^1", ">=1 <", "-1.0.0", "1.0.0\x00", "~>1.2", "x" * 300])
def test_invalid_specifiers(bad: str) -> None:
    with pytest.raises(ResolutionError, match="invalid version specifier"):
        parse_spec(bad)


# --- properties -------------------------------------------------------------------------------

Triple = tuple[int, int, int]
triples = st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 12))


def text(v: Triple) -> str:
    return f"{v[0]}.{v[1]}.{v[2]}"


def caret_upper(v: Triple) -> Triple:
    if v[0] > 0:
        return (v[0] + 1, 0, 0)
    if v[1] > 0:
        return (0, v[1] + 1, 0)
    return (0, 0, v[2] + 1)


@st.composite
def spec_and_oracle(draw: st.DrawFn) -> tuple[str, object]:
    kind = draw(st.sampled_from(["caret", "tilde", "range", "x", "exact", "latest"]))
    a = draw(triples)
    if kind == "caret":
        return f"^{text(a)}", lambda v: a <= v < caret_upper(a)
    if kind == "tilde":
        return f"~{text(a)}", lambda v: a <= v < (a[0], a[1] + 1, 0)
    if kind == "range":
        b = draw(triples)
        return f">={text(a)} <{text(b)}", lambda v: a <= v < b
    if kind == "x":
        return f"{a[0]}.x", lambda v: a[0] == v[0]
    if kind == "exact":
        return text(a), lambda v: v == a
    return "latest", lambda v: True


@settings(max_examples=300, deadline=None)
@given(
    st.lists(triples, min_size=0, max_size=12, unique=True),
    st.lists(triples, max_size=3),
    spec_and_oracle(),
)
def test_select_is_the_highest_match(
    stable: list[Triple], pre: list[Triple], spec_oracle: tuple[str, object]
) -> None:
    spec, oracle = spec_oracle
    versions = [text(v) for v in stable] + [text(v) + "-rc.1" for v in pre]
    wanted = [v for v in stable if oracle(v)]  # type: ignore[operator]
    if wanted:
        assert select(spec, versions) == text(max(wanted))
        assert matches(parse_spec(spec), text(max(wanted)))
    elif spec != "latest" or stable:
        with pytest.raises(ResolutionError, match="no version matches"):
            select(spec, versions)
    for v in pre:  # prereleases never match a range that names none
        if spec != "latest":
            assert not matches(parse_spec(spec), text(v) + "-rc.1")


@settings(max_examples=200, deadline=None)
@given(spec_and_oracle(), st.sampled_from(["", " ", "  "]))
def test_parse_is_idempotent(spec_oracle: tuple[str, object], pad: str) -> None:
    spec, _ = spec_oracle
    once = parse_spec(pad + spec + pad)
    assert parse_spec(once.text) == once
    assert once.text == spec
