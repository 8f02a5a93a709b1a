"""Names the model sees: ``server__tool``, sanitised, at most 64 characters, collision-free.

OpenAI-compatible servers (and vLLM's tool parsers) accept function names matching
``[a-zA-Z0-9_-]{1,64}``. MCP server and tool names may contain dots, slashes and anything
else, so both parts are sanitised; when the result is too long or collides with a name
already given out, a short hash of the *original* pair makes it unique and stable.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

MAX_NAME = 64
SEPARATOR = "__"
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_SUFFIX_LEN = 8  # hex digits of sha256: 4 billion values, plenty for one agent's tools


def sanitise(part: str) -> str:
    """Replace every character outside ``[a-zA-Z0-9_-]`` with ``_`` (empty becomes ``_``)."""
    return _UNSAFE.sub("_", part) or "_"


def _suffix(server: str, tool: str, salt: int) -> str:
    digest = hashlib.sha256(f"{server}\0{tool}\0{salt}".encode()).hexdigest()
    return digest[:_SUFFIX_LEN]


def expose_names(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Map each ``(server, tool)`` pair to a unique function name.

    Pairs are processed in sorted order so that the mapping does not depend on the order in
    which servers answered: every agent of a run sees the same names (and the same prompt
    prefix). The first pair of a colliding group keeps the plain name; later ones get a hash.
    """
    taken: set[str] = set()
    names: dict[tuple[str, str], str] = {}
    for server, tool in sorted(set(pairs)):
        plain = f"{sanitise(server)}{SEPARATOR}{sanitise(tool)}"
        name = plain if len(plain) <= MAX_NAME else None
        salt = 0
        while name is None or name in taken:
            tag = _suffix(server, tool, salt)
            name = f"{plain[: MAX_NAME - _SUFFIX_LEN - 1]}_{tag}"
            salt += 1
        taken.add(name)
        names[(server, tool)] = name
    return names
