"""A project: the directory holding ``mgx.toml`` and ``mgx.lock``, and how to find it.

Lookup order: an explicit directory (``--project DIR``), then ``MGX_PROJECT``, then the current
directory and its parents (the first one with an ``mgx.toml``). Commands that add tools create
the manifest in the current directory when there is none.

:func:`launch_specs` is what the runtime calls to start a locked tool set: everything comes
from the lock (and the manifest's env bindings, already copied into it), never the registry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from marketplace.errors import ConfigError, LockError
from marketplace.lockfile import LOCK_NAME, Lockfile, read_lock
from marketplace.manifest import MANIFEST_NAME, Manifest, read_manifest
from marketplace.settings import Settings

if TYPE_CHECKING:
    from marketplace.installers import LaunchSpec
    from marketplace.lockfile import LockedTool

__all__ = ["PROJECT_ENV", "Project", "find_project", "launch_specs", "lookup_tool"]

PROJECT_ENV = "MGX_PROJECT"


@dataclass(frozen=True)
class Project:
    root: Path
    settings: Settings

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_NAME

    def manifest(self, *, strict: bool = True) -> Manifest:
        return read_manifest(self.manifest_path, strict=strict)

    def lock(self) -> Lockfile:
        """The lock (an empty one when the project has none yet)."""
        return read_lock(self.lock_path) or Lockfile()

    def has_lock(self) -> bool:
        return self.lock_path.exists()


def find_project(
    explicit: Path | str | None = None,
    *,
    create: bool = False,
    settings: Settings | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Project:
    """Locate the project (see the module docstring); ``create`` allows a new one in ``cwd``.

    A pending commit journal left by a killed run is rolled forward before returning, so every
    command sees a consistent manifest and lock.
    """
    settings = settings or Settings.from_env()
    env = os.environ if env is None else env
    chosen = explicit if explicit not in (None, "") else env.get(PROJECT_ENV) or None
    if chosen is not None:
        root = Path(chosen).expanduser().resolve()
        if root.is_file() and root.name == MANIFEST_NAME:
            root = root.parent
        if not root.is_dir():
            raise ConfigError(f"project directory {root} does not exist")
        if not (root / MANIFEST_NAME).exists() and not create:
            raise ConfigError(f"no {MANIFEST_NAME} in {root}; `mgx tool install NAME` creates one")
        return _ready(Project(root=root, settings=settings))
    here = (cwd or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / MANIFEST_NAME).is_file():
            return _ready(Project(root=directory, settings=settings))
    if create:
        return Project(root=here, settings=settings)
    raise ConfigError(
        f"no {MANIFEST_NAME} in {here} or any parent directory; `mgx tool install NAME` creates "
        f"one, or point at a project with --project DIR or {PROJECT_ENV}"
    )


def _ready(project: Project) -> Project:
    from marketplace.transaction import Transaction, pending_journal

    if pending_journal(project):
        with Transaction(project):
            pass  # entering rolls the interrupted commit forward
    return project


def lookup_tool(lock_or_names: Lockfile | Mapping[str, object], name: str) -> str:
    """The full name of a tool given its full name, short name or package identifier."""
    names = list(lock_or_names.tools if isinstance(lock_or_names, Lockfile) else lock_or_names)
    if name in names:
        return name
    short = [n for n in names if n.rsplit("/", 1)[-1].lower() == name.lower()]
    if not short and isinstance(lock_or_names, Lockfile):
        short = [
            n
            for n, t in lock_or_names.tools.items()
            if t.package.identifier.lower() == name.lower()
        ]
    if len(short) == 1:
        return short[0]
    if len(short) > 1:
        raise ConfigError(f"{name!r} is ambiguous: it could be {', '.join(sorted(short))}")
    listed = ", ".join(names) if names else "none"
    raise ConfigError(f"no tool named {name!r} in this project (tools: {listed})")


def launch_specs(
    project: Project,
    *,
    toolset: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, LaunchSpec]:
    """Ready-to-start servers of ``toolset`` (every locked tool when None), by tool name.

    Raises ``ConfigError`` for an unknown tool set or a missing required value, ``LockError``
    when there is no lock, ``InstallError`` when a tool is not installed (run ``mgx tool sync``).
    """
    lock = read_lock(project.lock_path)
    if lock is None:
        raise LockError(f"no {LOCK_NAME} in {project.root}; run `mgx tool install` or `sync`")
    if toolset is None:
        names = sorted(lock.tools)
    else:
        if toolset not in lock.toolsets:
            known = ", ".join(sorted(lock.toolsets)) or "none"
            raise ConfigError(f"no tool set {toolset!r} in {LOCK_NAME} (tool sets: {known})")
        names = list(lock.toolsets[toolset])
    manifest = project.manifest(strict=False)
    return {
        name: launch_spec(project, lock.tools[name], environ=environ, manifest=manifest)
        for name in names
    }


def launch_spec(
    project: Project,
    tool: LockedTool,
    *,
    environ: Mapping[str, str] | None = None,
    manifest: Manifest | None = None,
) -> LaunchSpec:
    """How to start one locked tool on this machine (absolute argv, env values from ``environ``).

    Every start goes through here (check, the agent's tools, the gateway, export), so this is
    where the lock's promises are enforced: the invocation rule, and ``verify = "require"``
    refusing a tool the lock records as not verified.
    """
    from dataclasses import replace

    from marketplace.installers import resolve_invocation
    from marketplace.invocation import check_invocation

    check_invocation(project.settings, tool)  # the lock may not start another program
    _check_policy(tool, manifest or project.manifest(strict=False))
    spec = resolve_invocation(
        project.settings,
        tool.package,
        env_bindings=dict(tool.env),
        arg_values=dict(tool.args),
        environ=environ,
    )
    return replace(spec, name=tool.name)


def _check_policy(tool: LockedTool, manifest: Manifest) -> None:
    from marketplace.errors import VerificationError
    from marketplace.provenance.policy import effective

    req = manifest.tools.get(tool.name)
    mode = effective(manifest.policy.verify, req.verify if req else "")
    status = str(tool.verification.get("status", "unverified"))
    if mode == "require" and status != "verified":
        raise VerificationError(
            f'{tool.name} is locked as {status} and policy verify = "require" refuses to start '
            f'it; lock a verified version, or set verify = "prefer" for it in {MANIFEST_NAME}'
        )
