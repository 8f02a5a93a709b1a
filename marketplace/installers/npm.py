"""npm packages: an isolated prefix per tool holding exactly the locked dependency tree.

Resolve: the package document from the registry gives the exact version's ``dist.integrity``,
its ``bin`` and its publish time; ``npm install --ignore-scripts --before <cutoff>`` in a
staging prefix computes the dependency tree (``--before`` is left out when the package ships
its own ``npm-shrinkwrap.json``, which then decides its subtree) and installs it, checking every
tarball against the registry's ``integrity``. The tree is kept in the lock: one entry per
install path with version, integrity and the fields ``npm ci`` needs. The installed prefix is
offered to ``install_package``, which adopts it once npm's record of it matches the lock entry
for entry, so a first install runs npm once (with ``allow_scripts`` the resolution is
``--package-lock-only`` and the install a separate ``npm ci``).

Install (reinstalls, ``sync --frozen``): the ``package.json``/``package-lock.json`` pair is
rebuilt from the lock and ``npm ci`` installs it; npm checks every tarball against its
``integrity`` and refuses a mismatch. Install scripts do not run unless the lock allows them
(``--ignore-scripts`` by default).

The server is started through its own executable in the tool directory, not through
``uvx``/``npx``, so server.json ``runtimeArguments`` (meant for those launchers) are not applied;
``packageArguments`` are.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from marketplace.errors import InstallError, ResolutionError, VerificationError
from marketplace.installers import _io
from marketplace.installers._cutoff import NOW, choose_cutoff
from marketplace.installers._model import Artifact, Invocation, LockedDependency, PackageLock
from marketplace.installers._staging import Staged, keep_prepared
from marketplace.installers._template import (
    InputCollector,
    compile_arguments,
    compile_key_values,
)
from marketplace.installers._validate import (
    validate_file_name,
    validate_identifier,
    validate_relative_path,
    validate_version,
)
from marketplace.settings import Settings
from registry_cache.serverjson import Package, ServerVersion

DEFAULT_BASE = "https://registry.npmjs.org"
ROOT_NAME = "mgx-tool"
SHRINKWRAP = "shrinkwrap"
# package-lock entry fields `npm ci` uses to rebuild the tree; the rest (license, engines,
# funding, deprecated) is informational and left out of mgx.lock.
_LOCK_FIELDS = (
    "name",
    "link",
    "dev",
    "optional",
    "devOptional",
    "peer",
    "inBundle",
    "hasInstallScript",
    "hasShrinkwrap",
    "bin",
    "dependencies",
    "optionalDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bundleDependencies",
    "os",
    "cpu",
    "libc",
)
# Flags that make npm's behaviour independent of the user's ~/.npmrc where it matters.
_NPM_FLAGS = (
    "--no-audit",
    "--no-fund",
    "--no-update-notifier",
    "--omit-lockfile-registry-resolved",  # fetch by name@version from --registry, not a stored URL
)


def _npm() -> str:
    import shutil

    found = shutil.which("npm")
    if found is None or shutil.which("node") is None:
        raise InstallError("npm packages need node and npm on PATH; install Node.js")
    return found


def _root_package(name: str, version: str) -> dict[str, Any]:
    return {"name": ROOT_NAME, "version": "0.0.0", "private": True, "dependencies": {name: version}}


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _integrity(dist: dict[str, Any]) -> str:
    integrity = dist.get("integrity")
    if isinstance(integrity, str) and integrity:
        return integrity
    shasum = dist.get("shasum")
    if isinstance(shasum, str) and len(shasum) == 40:  # packages published before npm 5
        return "sha1-" + base64.b64encode(bytes.fromhex(shasum)).decode()
    raise VerificationError("npm: the registry gives no integrity for this version")


# --- resolve ----------------------------------------------------------------------------------


def resolve(
    server: ServerVersion,
    package: Package,
    *,
    settings: Settings,
    cutoff: str,
    allow_scripts: bool = False,
) -> PackageLock:
    name = package.identifier
    validate_identifier("npm", name)
    base = (package.registry_base_url or DEFAULT_BASE).rstrip("/")
    with _io.http_client() as client:
        doc = _io.get_json(
            client,
            f"{base}/{quote(name, safe='@')}",
            what=f"npm: looking up {name}",
            headers={"Accept": "application/json"},
        )
    versions = doc.get("versions") or {}
    version = package.version or (doc.get("dist-tags") or {}).get("latest", "")
    validate_version(version)
    if version not in versions:
        recent = sorted(versions, key=lambda v: (doc.get("time") or {}).get(v, ""))[-8:]
        raise ResolutionError(
            f"npm: {name} has no version {version} (recent: {', '.join(recent) or 'none'})"
        )
    meta = versions[version]
    integrity = _integrity(meta.get("dist") or {})
    shrinkwrap = bool(meta.get("_hasShrinkwrap"))
    published = (doc.get("time") or {}).get(version, "")
    chosen_cutoff = choose_cutoff(
        cutoff, published_at=server.meta.published_at, uploaded=[published]
    )
    # Without install scripts the resolution installs the tree too (see the module docstring).
    staged = None if allow_scripts else Staged(settings)
    try:
        lock = _resolved(
            server,
            package,
            name=name,
            version=version,
            base=base,
            meta=meta,
            integrity=integrity,
            shrinkwrap=shrinkwrap,
            chosen_cutoff=chosen_cutoff,
            allow_scripts=allow_scripts,
            prefix=staged.path if staged else None,
        )
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    if staged is not None:
        keep_prepared(settings, lock, staged)
    return lock


def _resolved(
    server: ServerVersion,
    package: Package,
    *,
    name: str,
    version: str,
    base: str,
    meta: dict[str, Any],
    integrity: str,
    shrinkwrap: bool,
    chosen_cutoff: str,
    allow_scripts: bool,
    prefix: Path | None,
) -> PackageLock:
    closure = _lock_tree(
        name, version, base=base, cutoff=None if shrinkwrap else chosen_cutoff, prefix=prefix
    )
    top_path = f"node_modules/{name}"
    top = [c for c in closure if c.name == top_path]
    if not top or top[0].version != version:
        raise ResolutionError(f"npm: the resolved tree of {name}@{version} does not contain it")
    if top[0].hashes != (integrity,):
        raise VerificationError(
            f"npm: the lock's integrity for {name}@{version} differs from the registry's"
        )
    bin_name = _pick_bin(name, meta.get("bin"))
    inputs = InputCollector()
    args = compile_arguments(package.package_arguments, inputs)
    env = compile_key_values(package.environment_variables, inputs, header=False)
    headers = compile_key_values(package.transport.headers, inputs, header=True)
    url = inputs.variables(package.transport.url or "", package.transport.variables)
    return PackageLock(
        registry_type="npm",
        identifier=name,
        version=version,
        registry_base_url=base,
        artifacts=(Artifact(name=f"{name}-{version}.tgz", digest=integrity),),
        cutoff=SHRINKWRAP if shrinkwrap else chosen_cutoff,
        allow_scripts=allow_scripts,
        closure=closure,
        invocation=Invocation(
            transport=package.transport.type,
            command="{tool_dir}/node_modules/.bin/" + bin_name,
            args=tuple(args),
            url=url,
            env=env,
            headers=headers,
            inputs=inputs.result(),
        ),
    )


def _pick_bin(name: str, bins: Any) -> str:
    unscoped = name.rsplit("/", 1)[-1]
    if isinstance(bins, str):
        names = [unscoped]
    elif isinstance(bins, dict):
        names = sorted(bins)
    else:
        names = []
    if not names:
        raise InstallError(f"npm: {name} declares no executable (bin) to start the server with")
    chosen = unscoped if unscoped in names else names[0] if len(names) == 1 else None
    if chosen is None:
        raise InstallError(
            f"npm: {name} has several executables ({', '.join(names)}) and none is named "
            f"{unscoped!r}; cannot tell which one starts the server"
        )
    validate_file_name(chosen, "npm bin name")
    return chosen


def _lock_tree(
    name: str, version: str, *, base: str, cutoff: str | None, prefix: Path | None
) -> tuple[LockedDependency, ...]:
    """The dependency tree of ``name@version``; installed into ``prefix`` when one is given."""
    npm = _npm()
    with tempfile.TemporaryDirectory(prefix="mgx-npm-") as tmp:
        where = prefix or Path(tmp)
        _write_json(where / "package.json", _root_package(name, version))
        argv = [npm, "install", "--ignore-scripts", *_NPM_FLAGS, "--registry", base + "/"]
        if prefix is None:
            argv.append("--package-lock-only")
        argv += ["--prefix", str(where)]
        if cutoff and cutoff != NOW:
            argv += ["--before", cutoff]
        _integrity_checked(argv, what=f"npm: resolving {name}@{version}", cwd=where)
        try:
            data = json.loads((where / "package-lock.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InstallError(f"npm: no usable package-lock.json for {name}@{version}") from exc
    return tree_from_lockfile(data)


def _integrity_checked(argv: list[str], *, what: str, cwd: Path) -> None:
    """Run npm; a tarball that does not match its integrity is a ``VerificationError``."""
    try:
        _io.run(argv, what=what, cwd=cwd)
    except InstallError as exc:
        if "EINTEGRITY" in str(exc) or "integrity" in str(exc).lower():
            raise VerificationError(
                f"{exc} (a downloaded tarball does not match the lock)"
            ) from exc
        raise


def tree_from_lockfile(data: dict[str, Any]) -> tuple[LockedDependency, ...]:
    """The ``packages`` of a package-lock.json (v2/v3) as sorted closure entries."""
    packages = data.get("packages")
    if not isinstance(packages, dict):
        raise InstallError("npm: package-lock.json has no 'packages' (npm 7 or newer is needed)")
    entries = []
    for path, entry in sorted(packages.items()):
        if path == "" or not isinstance(entry, dict):
            continue
        validate_relative_path(path, "npm install path")
        if entry.get("link"):
            raise InstallError(f"npm: linked package {path} in the tree; refusing it")
        integrity = entry.get("integrity")
        if not isinstance(integrity, str) or not integrity:
            if entry.get("inBundle"):
                integrity = ""  # bundled inside its parent's tarball, covered by its integrity
            else:
                raise VerificationError(f"npm: {path} has no integrity in the resolved tree")
        extra = {
            k: entry[k] for k in _LOCK_FIELDS if k in entry and entry[k] not in (None, "", {}, [])
        }
        entries.append(
            LockedDependency(
                name=path,
                version=str(entry.get("version", "")),
                hashes=(integrity,) if integrity else (),
                resolved=entry.get("resolved", "")
                if isinstance(entry.get("resolved"), str)
                else "",
                extra=_drop_none(extra),
            )
        )
    return tuple(entries)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value if v is not None]
    return value


def lockfile_from_tree(lock: PackageLock) -> dict[str, Any]:
    """Rebuild the package-lock.json ``npm ci`` installs from."""
    packages: dict[str, Any] = {
        "": {
            "name": ROOT_NAME,
            "version": "0.0.0",
            "dependencies": {lock.identifier: lock.version},
        }
    }
    for dep in lock.closure:
        validate_relative_path(dep.name, "npm install path")
        entry: dict[str, Any] = {"version": dep.version}
        if dep.resolved:
            entry["resolved"] = dep.resolved
        if dep.hashes:
            entry["integrity"] = dep.hashes[0]
        entry.update(dep.extra)
        packages[dep.name] = entry
    return {
        "name": ROOT_NAME,
        "version": "0.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": packages,
    }


# --- install ----------------------------------------------------------------------------------


def install(lock: PackageLock, work: Path, *, settings: Settings) -> None:
    """``npm ci`` the locked tree into ``work`` and check what landed against the lock."""
    validate_identifier("npm", lock.identifier)
    validate_version(lock.version)
    npm = _npm()
    _write_json(work / "package.json", _root_package(lock.identifier, lock.version))
    _write_json(work / "package-lock.json", lockfile_from_tree(lock))
    argv = [
        npm,
        "ci",
        *_NPM_FLAGS,
        "--registry",
        (lock.registry_base_url or DEFAULT_BASE) + "/",
        "--prefix",
        str(work),
    ]
    if not lock.allow_scripts:
        argv.append("--ignore-scripts")
    _integrity_checked(argv, what=f"npm: installing {lock.identifier}@{lock.version}", cwd=work)
    _verify(lock, work)


def adopt(lock: PackageLock, work: Path, *, settings: Settings) -> None:
    """Accept the tree ``resolve`` installed into ``work`` once it matches ``lock`` exactly."""
    validate_identifier("npm", lock.identifier)
    validate_version(lock.version)
    # The same files an `npm ci` install leaves, so both paths give the same directory.
    _write_json(work / "package.json", _root_package(lock.identifier, lock.version))
    _write_json(work / "package-lock.json", lockfile_from_tree(lock))
    _verify(lock, work)


def _verify(lock: PackageLock, work: Path) -> None:
    """npm's own record of the installed tree must match the lock entry for entry."""
    try:
        hidden = json.loads((work / "node_modules" / ".package-lock.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InstallError(f"npm: {lock.identifier} left no record of its installed tree") from exc
    installed = {path: entry for path, entry in (hidden.get("packages") or {}).items() if path}
    for dep in lock.closure:
        if dep.extra.get("optional") and dep.name not in installed:
            continue  # optional platform packages (os/cpu) are skipped where they do not apply
        got = installed.get(dep.name)
        if got is None:
            raise VerificationError(f"npm: {dep.name} is locked but was not installed")
        if got.get("version") != dep.version or (
            dep.hashes and got.get("integrity") != dep.hashes[0]
        ):
            raise VerificationError(f"npm: {dep.name} does not match the lock after install")
    extra = sorted(set(installed) - {d.name for d in lock.closure})
    if extra:
        raise VerificationError(f"npm: {extra[0]} was installed but is not locked")
    command = lock.invocation.command.replace("{tool_dir}/", "")
    if not os.access(work / command, os.X_OK):
        raise InstallError(f"npm: {lock.identifier} did not install its executable {command}")
