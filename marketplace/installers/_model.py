"""Values of the installers: what a resolved package pins (``PackageLock``) and how to start it.

``PackageLock`` is everything needed to reinstall one package exactly and to start it; it is
the per-tool payload of ``mgx.lock``. ``to_dict`` gives plain, deterministic TOML-able data (no
``None``, no absolute or machine-specific paths, empty values left out); ``from_dict`` reads it
back and ``from_dict(x.to_dict()) == x``.

Templates: strings in an ``Invocation`` may hold ``{name}`` placeholders. ``{tool_dir}`` is the
tool's install directory; any other name refers to an ``InputSpec`` (an argument value, a URL or
header variable). A ``{name}`` that is not declared stays literal, as server.json specifies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketplace.errors import LockError

TOOL_DIR_VAR = "tool_dir"


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` unless the value is empty: the lock leaves defaults out."""
    if value in ("", (), [], {}, None, False):
        return
    out[key] = value


def _req(d: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in d:
        raise LockError(f"{where}: missing {key!r}")
    return _opt(d, key, kind, where, None)


def _opt(d: Mapping[str, Any], key: str, kind: type, where: str, default: Any) -> Any:
    value = d.get(key, default)
    if value is default:
        return value
    if not isinstance(value, kind):
        raise LockError(f"{where}.{key}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _strs(d: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = _opt(d, key, list, where, [])
    if not all(isinstance(v, str) for v in value):
        raise LockError(f"{where}.{key}: expected a list of strings")
    return tuple(value)


@dataclass(frozen=True, kw_only=True)
class Artifact:
    """One file (or image manifest) the install must match, by digest.

    ``digest`` is ``sha256:<hex>`` (PyPI files, mcpb, OCI manifests), an npm/SRI integrity
    string (``sha512-<base64>``) or ``sha512:<hex>`` (NuGet packages, nuget only).
    """

    name: str
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "digest": self.digest}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "artifact") -> Artifact:
        return cls(name=_req(d, "name", str, where), digest=_req(d, "digest", str, where))


@dataclass(frozen=True, kw_only=True)
class LockedDependency:
    """One member of the dependency closure.

    PyPI: ``name`` is the normalised project name, ``hashes`` every allowed file's
    ``sha256:<hex>``, ``marker`` the environment marker of a universal resolution.
    npm: ``name`` is the install path in the tree (``node_modules/a/node_modules/b``),
    ``hashes`` holds the ``integrity`` and ``extra`` the package-lock fields ``npm ci`` needs
    (``dependencies``, ``bin``, ``optional``, …).
    nuget: one per-platform package of a RID-specific .NET tool: ``name`` its package id,
    ``hashes`` its ``sha512:<hex>``, ``extra.rid`` its runtime identifier.
    """

    name: str
    version: str
    hashes: tuple[str, ...] = ()
    marker: str = ""
    resolved: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "version": self.version}
        _put(out, "hashes", list(self.hashes))
        _put(out, "marker", self.marker)
        _put(out, "resolved", self.resolved)
        _put(out, "extra", _sorted(self.extra))
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "closure") -> LockedDependency:
        return cls(
            name=_req(d, "name", str, where),
            version=_opt(d, "version", str, where, ""),
            hashes=_strs(d, "hashes", where),
            marker=_opt(d, "marker", str, where, ""),
            resolved=_opt(d, "resolved", str, where, ""),
            extra=_plain(_opt(d, "extra", Mapping, where, {})),
        )


@dataclass(frozen=True, kw_only=True)
class InputSpec:
    """A value supplied at launch: an argument value or a URL/header/env variable."""

    name: str
    required: bool = False
    secret: bool = False
    default: str = ""
    format: str = "string"
    choices: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        _put(out, "required", self.required)
        _put(out, "secret", self.secret)
        _put(out, "default", self.default)
        if self.format != "string":
            out["format"] = self.format
        _put(out, "choices", list(self.choices))
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "input") -> InputSpec:
        return cls(
            name=_req(d, "name", str, where),
            required=_opt(d, "required", bool, where, False),
            secret=_opt(d, "secret", bool, where, False),
            default=_opt(d, "default", str, where, ""),
            format=_opt(d, "format", str, where, "string"),
            choices=_strs(d, "choices", where),
        )


@dataclass(frozen=True, kw_only=True)
class KeyValueSpec:
    """An environment variable or HTTP header the server takes, by *name*.

    ``value`` is a fixed template from server.json (``Bearer {token}``); when empty the value
    is read from the process environment at launch (through the manifest's env bindings).
    """

    name: str
    value: str = ""
    required: bool = False
    secret: bool = False
    default: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        _put(out, "value", self.value)
        _put(out, "required", self.required)
        _put(out, "secret", self.secret)
        _put(out, "default", self.default)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "env") -> KeyValueSpec:
        return cls(
            name=_req(d, "name", str, where),
            value=_opt(d, "value", str, where, ""),
            required=_opt(d, "required", bool, where, False),
            secret=_opt(d, "secret", bool, where, False),
            default=_opt(d, "default", str, where, ""),
        )


@dataclass(frozen=True, kw_only=True)
class Invocation:
    """How to start the installed server, with no machine-specific paths.

    ``command`` is a program on PATH (``node``, ``docker``) or a ``{tool_dir}/…`` template.
    ``args`` is a list of argument *groups*: each group is one server.json argument (``["--port",
    "{port}"]``) and is left out as a whole when an optional input it uses has no value.
    """

    transport: str = "stdio"
    command: str = ""
    args: tuple[tuple[str, ...], ...] = ()
    url: str = ""
    env: tuple[KeyValueSpec, ...] = ()
    headers: tuple[KeyValueSpec, ...] = ()
    inputs: tuple[InputSpec, ...] = ()

    @property
    def env_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.env)

    @property
    def header_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.headers)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"transport": self.transport}
        _put(out, "command", self.command)
        _put(out, "args", [list(g) for g in self.args])
        _put(out, "url", self.url)
        _put(out, "env", [e.to_dict() for e in self.env])
        _put(out, "headers", [h.to_dict() for h in self.headers])
        _put(out, "inputs", [i.to_dict() for i in self.inputs])
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "invocation") -> Invocation:
        groups = _opt(d, "args", list, where, [])
        args = []
        for i, group in enumerate(groups):
            if not isinstance(group, list) or not all(isinstance(a, str) for a in group):
                raise LockError(f"{where}.args[{i}]: expected a list of strings")
            args.append(tuple(group))
        return cls(
            transport=_opt(d, "transport", str, where, "stdio"),
            command=_opt(d, "command", str, where, ""),
            args=tuple(args),
            url=_opt(d, "url", str, where, ""),
            env=tuple(
                KeyValueSpec.from_dict(_map(e, f"{where}.env"), f"{where}.env")
                for e in _opt(d, "env", list, where, [])
            ),
            headers=tuple(
                KeyValueSpec.from_dict(_map(h, f"{where}.headers"), f"{where}.headers")
                for h in _opt(d, "headers", list, where, [])
            ),
            inputs=tuple(
                InputSpec.from_dict(_map(i, f"{where}.inputs"), f"{where}.inputs")
                for i in _opt(d, "inputs", list, where, [])
            ),
        )


@dataclass(frozen=True, kw_only=True)
class PackageLock:
    """A resolved, pinned package: enough to reinstall exactly the same files and start it.

    ``cutoff`` is the dependency resolution cut-off (an RFC 3339 time, or ``"now"``);
    ``python`` the ``major.minor`` the PyPI closure was resolved for; ``allow_scripts`` whether
    npm install scripts may run. ``artifacts`` pins the package itself, ``closure`` its
    dependencies (including the package for PyPI and npm).
    """

    registry_type: str
    identifier: str
    version: str = ""
    registry_base_url: str = ""
    artifacts: tuple[Artifact, ...] = ()
    cutoff: str = ""
    python: str = ""
    allow_scripts: bool = False
    closure: tuple[LockedDependency, ...] = ()
    invocation: Invocation = field(default_factory=Invocation)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"registry_type": self.registry_type, "identifier": self.identifier}
        _put(out, "version", self.version)
        _put(out, "registry_base_url", self.registry_base_url)
        _put(out, "artifacts", [a.to_dict() for a in self.artifacts])
        _put(out, "cutoff", self.cutoff)
        _put(out, "python", self.python)
        _put(out, "allow_scripts", self.allow_scripts)
        _put(out, "closure", [c.to_dict() for c in self.closure])
        out["invocation"] = self.invocation.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PackageLock:
        """Read the data ``to_dict`` wrote; raises ``LockError`` naming a malformed field."""
        w = "package"
        d = _map(d, w)
        return cls(
            registry_type=_req(d, "registry_type", str, w),
            identifier=_req(d, "identifier", str, w),
            version=_opt(d, "version", str, w, ""),
            registry_base_url=_opt(d, "registry_base_url", str, w, ""),
            artifacts=tuple(
                Artifact.from_dict(_map(a, f"{w}.artifacts"), f"{w}.artifacts")
                for a in _opt(d, "artifacts", list, w, [])
            ),
            cutoff=_opt(d, "cutoff", str, w, ""),
            python=_opt(d, "python", str, w, ""),
            allow_scripts=_opt(d, "allow_scripts", bool, w, False),
            closure=tuple(
                LockedDependency.from_dict(_map(c, f"{w}.closure"), f"{w}.closure")
                for c in _opt(d, "closure", list, w, [])
            ),
            invocation=Invocation.from_dict(
                _map(d.get("invocation", {}), f"{w}.invocation"), f"{w}.invocation"
            ),
        )


@dataclass(frozen=True, kw_only=True)
class LaunchSpec:
    """A ready-to-run server: absolute argv (never a shell string), env, transport, URL.

    ``env`` holds only the variables the server declares; ``env`` and ``headers`` may carry
    secret values, so they are kept out of ``repr`` (and must never be logged or written).
    """

    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    cwd: Path | None = None
    transport: str = "stdio"
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    name: str = ""


def _map(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise LockError(f"{where}: expected a table")
    return value


def _plain(value: Any) -> Any:
    """A deep copy as plain dict/list (tomlkit containers in, plain data out)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, int, float)):
        return value
    return str(value)


def _sorted(value: Any) -> Any:
    """Plain data with every table's keys sorted, so equal data serialises identically."""
    if isinstance(value, Mapping):
        return {str(k): _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_sorted(v) for v in value]
    return value
