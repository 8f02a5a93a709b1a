"""Entry points shared by every package type: resolve, install (staged, atomic), choose."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from marketplace.errors import InstallError, ResolutionError
from marketplace.installable import (
    INSTALLABLE_TYPES,
    installability,
    missing_runtime,
)
from marketplace.installers._cutoff import PUBLISH
from marketplace.installers._model import PackageLock
from marketplace.installers._staging import is_installed, staging, take_prepared, tool_dir
from marketplace.settings import Settings
from registry_cache.serverjson import Package, ServerVersion, Transport

SUPPORTED = INSTALLABLE_TYPES
# Preference when a server ships several packages and the manifest names none: an isolated
# Python env is the cheapest and most reproducible, then an npm prefix, then a self-contained
# bundle, then a .NET tool (needs the .NET SDK), then a container (needs a running daemon), and
# a remote last (nothing runs locally, but the data leaves the machine).
PREFERENCE = ("pypi", "npm", "mcpb", "nuget", "oci", "remote")


def _module(registry_type: str) -> Any:
    if registry_type not in SUPPORTED:
        raise InstallError(
            f"package type {registry_type!r} is not supported "
            f"(mgx installs: {', '.join(SUPPORTED)})"
        )
    return importlib.import_module(f"marketplace.installers.{registry_type}")


def resolve_package(
    server: ServerVersion,
    package: Package | Transport,
    *,
    settings: Settings,
    cutoff: str = PUBLISH,
    allow_scripts: bool = False,
) -> PackageLock:
    """Pin ``package`` of ``server``: exact artifacts, digests, closure and invocation (network).

    ``package`` is one of ``server.packages`` or, for a remote, one of ``server.remotes``.
    ``cutoff`` is ``"publish"`` (resolve dependencies as of the version's publication),
    ``"now"`` or an RFC 3339 time. ``allow_scripts`` lets npm run install scripts.
    """
    if isinstance(package, Transport):
        from marketplace.installers import remote

        return remote.resolve(server, package)
    module = _module(package.registry_type)
    lock: PackageLock
    if package.registry_type == "npm":
        lock = module.resolve(
            server, package, settings=settings, cutoff=cutoff, allow_scripts=allow_scripts
        )
    else:
        lock = module.resolve(server, package, settings=settings, cutoff=cutoff)
    return lock


def install_package(lock: PackageLock, *, settings: Settings) -> Path:
    """Install exactly ``lock`` and return its directory; a no-op when it is already there.

    Built in a staging directory and renamed into place only when complete and verified; on
    any failure (``KeyboardInterrupt`` included) nothing is left that looks installed.
    """
    target = tool_dir(settings, lock)
    # A resolver may have installed the tree already while resolving it (npm: one `npm
    # install` computes and fetches the closure); such a tree is adopted once checked.
    prepared = take_prepared(settings, lock)
    if is_installed(settings, lock):
        if prepared is not None:
            prepared.discard()
        return target
    module = _module(lock.registry_type)
    if prepared is not None:
        with staging(settings, lock, adopt=prepared) as work:
            module.adopt(lock, work, settings=settings)
        return target
    if hasattr(module, "preflight"):
        module.preflight(lock)  # e.g. "no container engine" before creating anything
    with staging(settings, lock) as work:
        module.install(lock, work, settings=settings)
    return target


def skipped_packages(server: ServerVersion, chosen: Package | Transport) -> list[str]:
    """Why each package type preferred over ``chosen`` was passed over (for a warning)."""
    kind = getattr(chosen, "registry_type", "remote")
    offered = {p.registry_type for p in server.packages}
    out = []
    for preferred in PREFERENCE[: PREFERENCE.index(kind)] if kind in PREFERENCE else ():
        reason = missing_runtime(preferred) if preferred in offered else None
        if reason:
            out.append(
                f"{server.name}: its {preferred} package is skipped ({reason}); "
                f"installing the {kind} one instead"
            )
    return out


def choose_package(
    server: ServerVersion,
    *,
    preferred_type: str | None = None,
) -> Package | Transport:
    """Pick the package (or remote) to install; see ``PREFERENCE``.

    ``preferred_type`` (from the manifest or ``--type``) wins when the server ships it. Without
    it, a type is usable when its runtime exists here: uv or Python for pypi (always true:
    mgx runs on Python), node and npm for npm, dotnet for nuget, docker or podman for oci; mcpb
    always; a remote only when nothing local is usable.
    """
    candidates: dict[str, Package | Transport] = {}
    for package in server.packages:
        candidates.setdefault(package.registry_type, package)
    if server.remotes:
        candidates.setdefault("remote", server.remotes[0])
    if not candidates:
        raise ResolutionError(
            f"{server.name} {server.version} cannot be installed: no package (the registry "
            "lists no packages and no remotes for it)"
        )
    if preferred_type:
        if preferred_type not in candidates:
            raise ResolutionError(
                f"{server.name} {server.version} has no {preferred_type} package "
                f"(it has: {', '.join(candidates)})"
            )
        if preferred_type not in SUPPORTED:
            _module(preferred_type)  # raises the "not supported" error
        return candidates[preferred_type]
    for kind in PREFERENCE:
        if kind in candidates and missing_runtime(kind) is None:
            return candidates[kind]
    # The same verdict and words as `mgx tool search` and `info` (marketplace.installable).
    verdict = installability(candidates)
    raise ResolutionError(
        f"{server.name} {server.version} cannot be installed here: {verdict.reason}"
    )
