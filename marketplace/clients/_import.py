"""``mgx client import``: match a client's configured servers to registry entries.

A server entry is matched by the package it runs: ``npx``/``bunx``/``pnpm dlx``/``npm exec``
→ an npm package, ``uvx``/``uv tool run``/``pipx run`` → a PyPI package, ``docker``/``podman
run`` → an OCI image. The package identifier is looked up in the registry cache (the same
lookup ``mgx tool install PACKAGE`` does); anything else is listed as unmatched, with why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marketplace.errors import MarketplaceError

if TYPE_CHECKING:
    from marketplace.catalog import Catalog

__all__ = ["ImportCandidate", "match_servers", "package_of"]

_NPM_RUNNERS = {("npx",), ("bunx",), ("pnpm", "dlx"), ("npm", "exec"), ("yarn", "dlx")}
_PYPI_RUNNERS = {("uvx",), ("uv", "tool", "run"), ("pipx", "run")}
_OCI_RUNNERS = {("docker", "run"), ("podman", "run")}
_VALUE_FLAGS = {
    "-e",
    "--env",
    "-v",
    "--volume",
    "--name",
    "-p",
    "--publish",
    "--mount",
    "-w",
    "--from",
    "--with",
    "--python",
    "--package",
    "--network",
    "--env-file",
}


@dataclass(frozen=True, kw_only=True)
class ImportCandidate:
    """One server of the client: matched (``server`` set) or not (``why`` says why not)."""

    entry: str
    package_type: str = ""
    package: str = ""
    server: str = ""  # the registry's full name when matched
    why: str = ""
    env: list[str] | None = None  # variables the entry sets (values are never copied)


def _command_line(entry: Any) -> list[str]:
    if not isinstance(entry, dict):
        return []
    command = entry.get("command", entry.get("cmd"))
    if isinstance(command, list):
        return [str(c) for c in command]
    if isinstance(command, dict):  # Zed's older form: {"command": {"path", "args"}}
        return [str(command.get("path", "")), *map(str, command.get("args") or [])]
    args = entry.get("args") or []
    return [str(command), *map(str, args)] if command else []


def _first_positional(args: list[str]) -> str:
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in _VALUE_FLAGS:
            skip = True
            continue
        if arg.startswith("-"):
            continue
        return arg
    return ""


def package_of(entry: Any) -> tuple[str, str, str]:
    """``(package_type, identifier, why_not)`` for a client's server entry."""
    line = _command_line(entry)
    if not line:
        url = entry.get("url") or entry.get("serverUrl") if isinstance(entry, dict) else None
        if url:
            return "", "", f"a remote server ({url}); install it by name with `mgx tool install`"
        return "", "", "no command to match"
    program = line[0].rsplit("/", 1)[-1].removesuffix(".exe").removesuffix(".cmd")
    words = [program, *line[1:]]
    for runners, kind in ((_NPM_RUNNERS, "npm"), (_PYPI_RUNNERS, "pypi"), (_OCI_RUNNERS, "oci")):
        for runner in runners:
            if tuple(words[: len(runner)]) == runner:
                rest = words[len(runner) :]
                if kind == "pypi" and "--from" in rest:
                    package = (
                        rest[rest.index("--from") + 1]
                        if rest.index("--from") + 1 < len(rest)
                        else ""
                    )
                else:
                    package = _first_positional(rest)
                if not package:
                    return "", "", f"{' '.join(runner)} without a package"
                return kind, _strip_version(kind, package), ""
    return "", "", f"runs a local command ({program}), not a published package"


def _strip_version(kind: str, package: str) -> str:
    if kind == "npm":
        scoped = package.startswith("@")
        name = package[1:] if scoped else package
        name = name.split("@", 1)[0]
        return ("@" if scoped else "") + name
    if kind == "pypi":
        return re.split(r"[\[=<>~!@ ]", package, maxsplit=1)[0]
    return package.rsplit("@", 1)[0].split(":", 1)[0] if "/" in package else package


def match_servers(
    servers: dict[str, Any], catalog: Catalog, *, skip: set[str]
) -> list[ImportCandidate]:
    """Each server (except ``skip``, mgx's own entries) matched to a registry entry or not."""
    out = []
    for name, entry in sorted(servers.items()):
        if name in skip:
            continue
        env = sorted((entry.get("env") or {}) if isinstance(entry, dict) else {}) or None
        kind, package, why = package_of(entry)
        if not package:
            out.append(ImportCandidate(entry=name, why=why, env=env))
            continue
        try:
            _, full = catalog.locate(package)
        except MarketplaceError as exc:
            out.append(
                ImportCandidate(
                    entry=name, package_type=kind, package=package, why=str(exc), env=env
                )
            )
            continue
        out.append(
            ImportCandidate(entry=name, package_type=kind, package=package, server=full, env=env)
        )
    return out
