"""The naming rule for tools exposed to the model."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from runtime.tools import expose_names, sanitise

VALID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def test_plain_names():
    names = expose_names([("time", "get_current_time"), ("io.github.x/fs", "read file")])
    assert names[("time", "get_current_time")] == "time__get_current_time"
    assert names[("io.github.x/fs", "read file")] == "io_github_x_fs__read_file"


def test_sanitise():
    assert sanitise("a.b/c d-é") == "a_b_c_d-_"
    assert sanitise("") == "_"


def test_collisions_get_distinct_hashed_names():
    pairs = [("a.b", "t"), ("a_b", "t"), ("a/b", "t")]
    names = expose_names(pairs)
    assert len(set(names.values())) == 3
    assert names[("a.b", "t")] == "a_b__t"  # the first in sorted order keeps the plain name
    for pair in pairs[1:]:
        assert re.fullmatch(r"a_b__t_[0-9a-f]{8}", names[pair])


def test_long_names_are_capped_with_a_hash():
    server, tool = "io.github.some-org/" + "s" * 40, "a_really_long_tool_name_" + "x" * 30
    name = expose_names([(server, tool)])[(server, tool)]
    assert len(name) == 64 and VALID.match(name)
    other = expose_names([(server, tool + "y")])[(server, tool + "y")]
    assert other != name and other[:55] == name[:55]  # same prefix, different hash


def test_mapping_does_not_depend_on_order():
    pairs = [("a.b", "t"), ("a_b", "t"), ("x", "y" * 80)]
    assert expose_names(pairs) == expose_names(list(reversed(pairs)))


_part = st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=90)


@given(st.lists(st.tuples(_part, _part), max_size=30))
def test_names_are_valid_and_unique(pairs):
    names = expose_names(pairs)
    assert set(names) == set(pairs)
    assert all(VALID.match(n) for n in names.values())
    assert len(set(names.values())) == len(names)
