"""Whether a server can be installed *on this machine*, and why not.

The registry cache records facts (package types, remotes); what mgx can install and what this
machine can run is knowledge of the marketplace, kept here so that search, info, install and
recommend give the same answer and the same reason. Light on purpose (``shutil`` only): a
cold ``mgx tool search`` imports it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registry_cache.serverjson import ServerVersion

__all__ = [
    "INSTALLABLE_TYPES",
    "RUNTIME_NEEDS",
    "Installability",
    "installability",
    "missing_runtime",
    "server_types",
]

# Package types mgx has an installer for ("remote": a server.json remote, nothing to install).
INSTALLABLE_TYPES = ("pypi", "npm", "mcpb", "nuget", "oci", "remote")
# What a package type needs on this machine, for messages ("npm needs node and npm").
RUNTIME_NEEDS = {"npm": "node and npm", "oci": "docker or podman", "nuget": "dotnet"}
NO_PACKAGE = "no package"


def missing_runtime(kind: str) -> str | None:
    """Why packages of ``kind`` cannot run on this machine (None: they can).

    A supported type whose program is absent from PATH ("nuget needs dotnet, not found on
    PATH"), or a type mgx cannot install at all ("mgx cannot install cargo packages yet").
    """
    if kind not in INSTALLABLE_TYPES:
        return f"mgx cannot install {kind} packages yet"
    which = shutil.which
    present = {
        "npm": bool(which("node") and which("npm")),
        "oci": bool(which("docker") or which("podman")),
        "nuget": bool(which("dotnet")),  # `dotnet tool install` (the SDK) installs the tool
    }.get(kind, True)  # pypi runs on mgx's own Python and uv; mcpb and remote need nothing
    return None if present else f"{kind} needs {RUNTIME_NEEDS[kind]}, not found on PATH"


@dataclass(frozen=True, kw_only=True)
class Installability:
    """The verdict for one server version: ``usable`` types, else ``reason`` (one line)."""

    installable: bool
    usable: tuple[str, ...] = ()  # package types this machine can install and run
    reason: str = ""  # why not, when not installable ("no package", "npm needs node …")

    @property
    def label(self) -> str:
        """Short mark for tables: "no package", or the reason."""
        return "" if self.installable else self.reason


def server_types(server: ServerVersion) -> list[str]:
    """The package types of a server.json version, ``remote`` for its remotes."""
    return [p.registry_type for p in server.packages] + (["remote"] if server.remotes else [])


def installability(package_types: Iterable[str]) -> Installability:
    """Judge a server by the package types it ships (``remote`` for a remote endpoint)."""
    types: Sequence[str] = tuple(dict.fromkeys(package_types))
    if not types:
        return Installability(installable=False, reason=NO_PACKAGE)
    reasons = {kind: missing_runtime(kind) for kind in types}
    usable = tuple(kind for kind, why in reasons.items() if why is None)
    if usable:
        return Installability(installable=True, usable=usable)
    return Installability(
        installable=False, reason="; ".join(why for why in reasons.values() if why)
    )
