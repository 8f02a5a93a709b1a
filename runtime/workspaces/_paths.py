"""The one path check every part of mgx uses before it touches a path an agent named.

A path is resolved (relative to a base directory), symlinks followed as far as they exist,
and must then lie inside one of the allowed roots (themselves resolved). ``..`` components
are refused outright even when they would land inside: a model that writes ``..`` is
probing, and a plain refusal is easier to reason about than normalisation rules.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from runtime.workspaces._errors import PathRefused

__all__ = ["is_within", "resolve_inside", "tool_call_paths"]

# Argument names the filesystem server (and most file tools) use for paths.
PATH_KEYS = ("path", "paths", "source", "destination")


def is_within(path: Path, root: Path) -> bool:
    """Whether resolved ``path`` is ``root`` or lies below it (both already resolved)."""
    return path == root or root in path.parents


def resolve_inside(
    raw: str | os.PathLike[str],
    roots: Iterable[Path],
    *,
    base: Path | None = None,
) -> Path:
    """``raw`` resolved (symlinks followed) if inside one of ``roots``; else ``PathRefused``.

    A relative ``raw`` is taken against ``base`` (default: the first root). A path that does
    not exist yet is checked through its nearest existing parent, so a new file in an
    allowed directory passes and one under a symlink pointing outside does not.
    """
    text = os.fspath(raw)
    if "\x00" in text:
        raise PathRefused("path contains a NUL byte")
    resolved_roots = [Path(r).resolve() for r in roots]
    if not resolved_roots:
        raise PathRefused(f"{text}: no directory is allowed here")
    candidate = Path(os.path.expanduser(text)) if text.startswith("~") else Path(text)
    if ".." in candidate.parts:
        raise PathRefused(f"{text}: '..' is not allowed in paths")
    if not candidate.is_absolute():
        candidate = (base or resolved_roots[0]) / candidate
    resolved = candidate.resolve()  # strict=False: follows every symlink that exists
    for root in resolved_roots:
        if is_within(resolved, root):
            return resolved
    shown = ", ".join(str(r) for r in resolved_roots)
    if resolved != Path(os.path.abspath(candidate)):
        raise PathRefused(f"{text}: resolves (through a symlink) to {resolved}, outside {shown}")
    raise PathRefused(f"{text}: outside the allowed directories ({shown})")


def tool_call_paths(arguments: Mapping[str, Any]) -> list[str]:
    """The path-like values of a file tool's arguments (``path``, ``paths[]``, ``source``…)."""
    found: list[str] = []
    for key in PATH_KEYS:
        value = arguments.get(key)
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            found.extend(v for v in value if isinstance(v, str))
    return found
