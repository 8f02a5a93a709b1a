"""Installers: pin a server.json package to exact artifacts, install it in isolation, start it.

Public surface (everything else is private)::

    lock = resolve_package(server, choose_package(server), settings=settings)  # network
    path = install_package(lock, settings=settings)     # staged, verified, atomic rename
    spec = resolve_invocation(settings, lock, env_bindings={...}, arg_values={...})

``PackageLock.to_dict()`` is the per-tool data of ``mgx.lock``; ``LaunchSpec`` is what a client
(``marketplace.check``, the runtime) starts. One module per package type: ``pypi``, ``npm``,
``mcpb``, ``nuget``, ``oci``, ``remote``.
"""

from __future__ import annotations

from marketplace.installable import missing_runtime
from marketplace.installers._api import (
    PREFERENCE,
    SUPPORTED,
    choose_package,
    install_package,
    resolve_package,
    skipped_packages,
)
from marketplace.installers._cutoff import NOW, PUBLISH
from marketplace.installers._model import (
    Artifact,
    InputSpec,
    Invocation,
    KeyValueSpec,
    LaunchSpec,
    LockedDependency,
    PackageLock,
)
from marketplace.installers._staging import cleanup_staging, is_installed, tool_dir, uninstall
from marketplace.installers._template import resolve_invocation
from marketplace.installers._validate import (
    validate_argument_value,
    validate_identifier,
    validate_version,
)

__all__ = [
    "NOW",
    "PREFERENCE",
    "PUBLISH",
    "SUPPORTED",
    "Artifact",
    "InputSpec",
    "Invocation",
    "KeyValueSpec",
    "LaunchSpec",
    "LockedDependency",
    "PackageLock",
    "choose_package",
    "cleanup_staging",
    "install_package",
    "is_installed",
    "missing_runtime",
    "resolve_invocation",
    "resolve_package",
    "skipped_packages",
    "tool_dir",
    "uninstall",
    "validate_argument_value",
    "validate_identifier",
    "validate_version",
]
