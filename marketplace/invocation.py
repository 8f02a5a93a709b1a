"""The invocation rule: a lock can start only the program its package provides.

``mgx.lock`` is input from strangers (a pull request can change it), so its ``invocation`` is
never trusted as text. It is re-derived from two things the lock cannot forge:

* the server.json document it was resolved from: the lock records its digest
  (``server_json = "sha256:…"``, RFC 8785 canonical JSON), and the document itself is kept in a
  content-addressed store under the data directory, written when it came from the registry;
* the installed package (checked against the lock's digests when it was installed): the
  console scripts of the locked wheel, the ``bin`` of the locked npm package, the manifest of
  the locked bundle, the ``DotnetToolSettings.xml`` of the locked .nupkg.

Per type the command must be: pypi, an entry point of the locked distribution in
``{tool_dir}/venv/bin`` (or ``{tool_dir}/venv/bin/python -m <a module it ships>``); npm, a
``bin`` of the locked package (``{tool_dir}/node_modules/.bin/<bin>``); nuget, the .NET
tool's command (``{tool_dir}/<command>``, read from the kept .nupkg whose sha512 is the
lock's); mcpb, the bundle manifest's ``mcp_config`` command; oci, the container engine
running ``image@sha256:…`` of the lock; remote, a URL of the server.json. Arguments, env,
headers and inputs must be exactly what the server.json's
``packageArguments``/``runtimeArguments`` (plus the bundle manifest's ``args``) compile to,
and the package (identifier, version, bundle digest) must be one the server.json names.

``check_invocation(settings, tool)`` is the one entry point: everything that starts or
exports a tool calls it first (``launch_spec``, ``export``, ``sync``, ``verify``; a future
``mgx tool serve`` too). It reads a few small files and costs well under a millisecond.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marketplace.errors import LockError

if TYPE_CHECKING:
    from marketplace.installers._model import Invocation, PackageLock
    from marketplace.lockfile import LockedTool
    from marketplace.settings import Settings
    from registry_cache.serverjson import Package, ServerVersion

__all__ = [
    "InvocationError",
    "check_invocation",
    "invocation_problems",
    "load_server_json",
    "package_problems",
    "server_json_digest",
    "store_server_json",
    "trust_dir",
]


class InvocationError(LockError):
    """The lock's invocation (or package) is not the one its server.json and package provide."""


def trust_dir(settings: Settings) -> Path:
    """Where mgx keeps what integrity checks compare against (server.json docs, tool pins)."""
    return settings.data_dir / "trust"


def _docs(settings: Settings) -> Path:
    return trust_dir(settings) / "server-json"


def server_json_digest(raw: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the RFC 8785 canonical JSON of a server.json document."""
    import rfc8785

    return "sha256:" + hashlib.sha256(rfc8785.dumps(dict(raw))).hexdigest()


def store_server_json(settings: Settings, raw: Mapping[str, Any]) -> str:
    """Keep ``raw`` (as received from a registry) under its digest; returns the digest."""
    import rfc8785

    digest = server_json_digest(raw)
    store = _docs(settings)
    target = store / f"{digest.removeprefix('sha256:')}.json"
    if not target.exists():
        store.mkdir(parents=True, exist_ok=True)
        tmp = store / f".{target.name}.{secrets.token_hex(4)}"
        tmp.write_bytes(rfc8785.dumps(dict(raw)))
        os.replace(tmp, target)  # content-addressed: concurrent writers write the same bytes
    return digest


def load_server_json(settings: Settings, digest: str) -> ServerVersion | None:
    """The stored server.json whose digest is ``digest`` (None when absent or not matching)."""
    from registry_cache.errors import ServerJsonError
    from registry_cache.serverjson import parse_server

    hexdigest = digest.removeprefix("sha256:")
    if not re.fullmatch(r"[0-9a-f]{64}", hexdigest):
        return None
    path = _docs(settings) / f"{hexdigest}.json"
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            key = (str(path), st.st_mtime_ns, st.st_size, st.st_ino)
            if key in _PARSED:  # one process checks a tool several times (sync: before, after)
                return _PARSED[key]
            raw = json.loads(fh.read())
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or server_json_digest(raw) != digest:
        return None  # damaged or edited on disk: treated as absent
    try:
        server = parse_server(raw, max_description=None)
    except ServerJsonError:
        return None
    _PARSED[key] = server
    return server


# Parsed documents by (path, mtime, size, inode): a file changed on disk is read again.
_PARSED: dict[tuple[str, int, int, int], ServerVersion] = {}


# --- the rule -------------------------------------------------------------------------------


def check_invocation(settings: Settings, tool: LockedTool) -> None:
    """Raise ``InvocationError`` (one line: the tool and what to run) unless ``tool`` passes."""
    problems = invocation_problems(settings, tool)
    if problems:
        raise InvocationError(
            f"{tool.name}: refusing the lock's invocation: {problems[0]}; run `mgx tool sync` "
            "to re-resolve it from its registry"
        )


def invocation_problems(settings: Settings, tool: LockedTool) -> list[str]:
    """Why ``tool``'s locked invocation is not the one its package provides (empty: it is)."""
    server, problems = _source(settings, tool)
    if server is None:
        return problems
    problems = package_problems(tool, server)
    if problems:
        return problems
    return _invocation_problems(settings, tool, server)


def _source(settings: Settings, tool: LockedTool) -> tuple[ServerVersion | None, list[str]]:
    if not tool.server_json:
        return None, ["the lock records no server.json digest for it"]
    server = load_server_json(settings, tool.server_json)
    if server is None:
        return None, [f"the server.json it was locked from ({tool.server_json[:19]}…) is not here"]
    return server, []


def _package(tool: LockedTool, server: ServerVersion) -> Package | None:
    lock = tool.package
    for package in server.packages:
        if package.registry_type == lock.registry_type and package.identifier == lock.identifier:
            return package
    return None


def package_problems(tool: LockedTool, server: ServerVersion) -> list[str]:
    """Whether the locked package is one that ``server`` (its server.json) names.

    Needs no install, so ``sync`` can refuse a forged package before fetching anything.
    """
    lock = tool.package
    if server.name != tool.name or server.version != tool.version:
        return [f"its server.json is {server.name} {server.version}, not {tool.version}"]
    if lock.registry_type == "remote":
        return []
    package = _package(tool, server)
    if package is None:
        return [f"server.json has no {lock.registry_type} package {lock.identifier!r}"]
    if lock.registry_type in ("pypi", "npm") and package.version not in (None, lock.version):
        return [f"server.json pins {lock.identifier} {package.version}, the lock {lock.version}"]
    if lock.registry_type == "nuget" and package.version:
        from marketplace.errors import MarketplaceError
        from marketplace.installers.nuget import normalize_version

        try:
            pinned = normalize_version(package.version).lower()
        except MarketplaceError:
            pinned = package.version
        if pinned != lock.version.lower():
            return [
                f"server.json pins {lock.identifier} {package.version}, the lock {lock.version}"
            ]
    if lock.registry_type == "mcpb":
        want = f"sha256:{package.file_sha256}" if package.file_sha256 else None
        if want is None or [a.digest for a in lock.artifacts] != [want]:
            return ["the bundle digest is not server.json's fileSha256"]
    return []


def _invocation_problems(settings: Settings, tool: LockedTool, server: ServerVersion) -> list[str]:
    from marketplace.installers._staging import tool_dir

    lock = tool.package
    inv = lock.invocation
    if lock.registry_type == "remote":
        from marketplace.installers import remote

        for candidate in server.remotes:
            try:
                if remote.resolve(server, candidate).invocation == inv:
                    return []
            except Exception:  # noqa: BLE001 - an unusable remote is simply not a match
                continue
        return [f"{inv.url or 'its URL'} is not a remote of its server.json"]
    package = _package(tool, server)
    assert package is not None  # package_problems ran first
    directory = tool_dir(settings, lock)
    try:
        return _compare(lock, package, directory)
    except LockError as exc:
        return [str(exc)]
    except Exception as exc:  # noqa: BLE001 - any failure to re-derive is a refusal, with why
        return [f"cannot re-derive its invocation ({type(exc).__name__}: {exc})"]


def _compare(lock: PackageLock, package: Package, directory: Path) -> list[str]:
    kind = lock.registry_type
    inv = lock.invocation
    if kind == "mcpb":
        from marketplace.installers.mcpb import _invocation

        try:
            manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ["its bundle's manifest.json is missing"]
        return _diff(inv, _invocation(manifest, package))
    if kind == "oci":
        return _diff(inv, _oci(lock, package))
    expected = _plain(package, kind)
    if kind == "pypi":
        return _pypi(inv, expected, directory, lock)
    if kind == "npm":
        return _npm(inv, expected, directory, lock)
    if kind == "nuget":
        return _nuget(inv, expected, directory, lock)
    return [f"package type {kind!r} has no invocation rule"]


def _plain(package: Package, kind: str) -> Invocation:
    """What pypi, npm and nuget resolve compile: packageArguments, env, headers, URL (no
    command)."""
    from marketplace.installers._model import Invocation
    from marketplace.installers._template import (
        InputCollector,
        compile_arguments,
        compile_key_values,
    )

    inputs = InputCollector()
    args = compile_arguments(package.package_arguments, inputs)
    env = compile_key_values(package.environment_variables, inputs, header=False)
    headers = compile_key_values(package.transport.headers, inputs, header=True)
    url = inputs.variables(package.transport.url or "", package.transport.variables)
    return Invocation(
        transport=package.transport.type,
        args=tuple(args),
        url=url,
        env=env,
        headers=headers,
        inputs=inputs.result(),
    )


def _oci(lock: PackageLock, package: Package) -> Invocation:
    from marketplace.installers._model import Invocation
    from marketplace.installers._template import (
        InputCollector,
        compile_arguments,
        compile_key_values,
    )
    from marketplace.installers.oci import parse_reference

    ref = parse_reference(package.identifier, package.version)
    if len(lock.artifacts) != 1 or lock.artifacts[0].name != f"{ref.registry}/{ref.repository}":
        raise LockError(f"the locked image is not {ref.registry}/{ref.repository}")
    inputs = InputCollector()
    env = compile_key_values(package.environment_variables, inputs, header=False)
    groups: list[tuple[str, ...]] = [("run", "-i", "--rm")]
    groups += [("-e", e.name) for e in env]
    groups += compile_arguments(package.runtime_arguments, inputs)
    groups.append((ref.pinned(lock.artifacts[0].digest),))
    groups += compile_arguments(package.package_arguments, inputs)
    headers = compile_key_values(package.transport.headers, inputs, header=True)
    url = inputs.variables(package.transport.url or "", package.transport.variables)
    return Invocation(
        transport=package.transport.type,
        command="docker",
        args=tuple(groups),
        url=url,
        env=env,
        headers=headers,
        inputs=inputs.result(),
    )


def _diff(have: Invocation, want: Invocation) -> list[str]:
    """The first differing field, named (values shortened: the lock is untrusted text)."""
    if have == want:
        return []
    a, b = have.to_dict(), want.to_dict()
    for key in ("command", "args", "transport", "url", "env", "headers", "inputs"):
        if a.get(key) != b.get(key):
            return [f"its {key} is {_short(a.get(key))}, its package provides {_short(b.get(key))}"]
    return ["it differs from what its package provides"]


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value if value is not None else "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pypi(inv: Invocation, expected: Invocation, directory: Path, lock: PackageLock) -> list[str]:
    from dataclasses import replace

    from marketplace.installers.pypi import VENV, canonical

    bin_prefix = "{tool_dir}/" + f"{VENV}/bin/"
    dist = _dist_info(directory / VENV, canonical(lock.identifier), lock.version)
    if dist is None:
        return [f"{lock.identifier} {lock.version} is not installed"]
    scripts = _console_scripts(dist)
    commands = {bin_prefix + s: expected.args for s in scripts}
    if inv.command == bin_prefix + "python" and inv.args and inv.args[0][:1] == ("-m",):
        # `python -m module`: allowed for a top-level module the locked wheel ships.
        if len(inv.args[0]) == 2 and inv.args[0][1] in _modules(dist):
            commands[inv.command] = (inv.args[0], *expected.args)
    if inv.command not in commands:
        offered = ", ".join(sorted(bin_prefix + s for s in scripts)) or "none"
        return [
            f"its command {_short(inv.command)} is not an entry point of {lock.identifier} "
            f"(it has: {offered})"
        ]
    return _diff(inv, replace(expected, command=inv.command, args=commands[inv.command]))


def _dist_info(venv: Path, name: str, version: str) -> Path | None:
    from marketplace.installers.pypi import _norm_version, canonical

    for dist in venv.glob("lib/python*/site-packages/*.dist-info"):
        stem, _, dist_version = dist.name[: -len(".dist-info")].rpartition("-")
        if canonical(stem) == name and _norm_version(dist_version) == _norm_version(version):
            return dist
    return None


def _console_scripts(dist: Path) -> list[str]:
    try:
        text = (dist / "entry_points.txt").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep names' case
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    return (
        sorted(parser.options("console_scripts")) if parser.has_section("console_scripts") else []
    )


def _modules(dist: Path) -> set[str]:
    """Top-level importable modules the distribution installed (from its RECORD)."""
    try:
        record = (dist / "RECORD").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    out = set()
    for line in record.splitlines():
        path = line.split(",", 1)[0]
        top, sep, _ = path.partition("/")
        if sep and not top.endswith((".dist-info", ".data")) and top not in ("..", "__pycache__"):
            out.add(top)
        elif not sep and path.endswith(".py"):
            out.add(path[:-3])
    return {m for m in out if m.isidentifier()}


def _npm(inv: Invocation, expected: Invocation, directory: Path, lock: PackageLock) -> list[str]:
    from dataclasses import replace

    try:
        meta = json.loads(
            (directory / "node_modules" / lock.identifier / "package.json").read_text("utf-8")
        )
    except (OSError, ValueError):
        return [f"{lock.identifier} is not installed"]
    bins = meta.get("bin") if isinstance(meta, dict) else None
    if isinstance(bins, str):
        names = [lock.identifier.rsplit("/", 1)[-1]]
    elif isinstance(bins, dict):
        names = sorted(str(b) for b in bins)
    else:
        names = []
    prefix = "{tool_dir}/node_modules/.bin/"
    if inv.command not in {prefix + b for b in names}:
        offered = ", ".join(prefix + b for b in names) or "none"
        return [
            f"its command {_short(inv.command)} is not a bin of {lock.identifier} "
            f"(it has: {offered})"
        ]
    return _diff(inv, replace(expected, command=inv.command))


def _nuget(inv: Invocation, expected: Invocation, directory: Path, lock: PackageLock) -> list[str]:
    """The command must be the one the kept .nupkg (checked against the lock's sha512) names."""
    from dataclasses import replace

    from marketplace.errors import InstallError, VerificationError
    from marketplace.installers.nuget import installed_command

    try:
        command = installed_command(directory, lock)
    except (InstallError, VerificationError) as exc:
        return [str(exc)]
    if inv.command != command:
        return [f"its command {_short(inv.command)} is not the tool's command {_short(command)}"]
    return _diff(inv, replace(expected, command=command))
