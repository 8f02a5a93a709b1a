"""``mgx.lock``: exactly what was resolved, in a deterministic TOML file (format ``version = 1``).

Same inputs give a byte-identical file: tools are sorted by name, every table is written in a
fixed key order, and nothing depends on the machine or the clock (no timestamps, no absolute
paths: install locations are ``{tool_dir}`` templates). The file is read with the stdlib
``tomllib`` (fast) and written with tomlkit, atomically (temp file in the same directory,
fsync, ``os.replace``, fsync of the directory). See docs/lockfile.md for every field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketplace.errors import LockError, LockFormatError
from marketplace.installers._model import PackageLock
from marketplace.manifest import Manifest
from marketplace.tool_pins import ToolPins

__all__ = [
    "FORMAT_VERSION",
    "LOCK_NAME",
    "LockedTool",
    "Lockfile",
    "dumps",
    "loads",
    "read_lock",
    "unsatisfied",
]

LOCK_NAME = "mgx.lock"
FORMAT_VERSION = 1
HEADER = "# mgx.lock: written by mgx from mgx.toml; do not edit by hand.\n"
UNVERIFIED: Mapping[str, Any] = {"status": "unverified"}


@dataclass(frozen=True, kw_only=True)
class LockedTool:
    """One locked tool: the server version chosen, why (the manifest's request), and the pin.

    ``spec``, ``type``, ``resolve``, ``registry_name``, ``env`` and ``args`` repeat the manifest
    entry this was resolved for, so ``sync --frozen`` can tell whether the lock still satisfies
    the manifest without the network. ``verification`` is filled by signature checks.
    """

    name: str
    version: str
    registry: str
    package: PackageLock
    spec: str = "latest"
    type: str = ""
    resolve: str = "publish"
    registry_name: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    args: Mapping[str, str] = field(default_factory=dict)
    published_at: str = ""
    verification: Mapping[str, Any] = field(default_factory=lambda: dict(UNVERIFIED))
    # Integrity (docs/security.md): the digest of the server.json the invocation was derived
    # from, whether tool descriptions are pinned, and the pins recorded at the last check.
    server_json: str = ""
    pin_tools: bool = True
    tool_pins: ToolPins | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "server": self.name,
            "version": self.version,
            "registry": self.registry,
            "spec": self.spec,
        }
        if self.registry_name:
            out["registry_name"] = self.registry_name
        if self.type:
            out["type"] = self.type
        out["resolve"] = self.resolve
        if self.published_at:
            out["published_at"] = self.published_at
        if self.env:
            out["env"] = {k: self.env[k] for k in sorted(self.env)}
        if self.args:
            out["args"] = {k: self.args[k] for k in sorted(self.args)}
        if self.server_json:
            out["server_json"] = self.server_json
        if not self.pin_tools:
            out["pin_tools"] = False
        out["package"] = self.package.to_dict()
        out["verification"] = _sorted(self.verification) or dict(UNVERIFIED)
        if self.tool_pins is not None:
            out["tool_pins"] = self.tool_pins.to_dict()
        return out

    @classmethod
    def from_dict(cls, key: str, d: Mapping[str, Any]) -> LockedTool:
        where = f"tools.{key}"
        if not isinstance(d, Mapping):
            raise LockError(f"{LOCK_NAME}: {where} must be a table")

        def text(name: str, default: str | None = None) -> str:
            value = d.get(name, default)
            if not isinstance(value, str):
                raise LockError(f"{LOCK_NAME}: {where}.{name} must be a string")
            return value

        def strings(name: str) -> dict[str, str]:
            value = d.get(name, {})
            if not isinstance(value, Mapping) or not all(
                isinstance(v, str) for v in value.values()
            ):
                raise LockError(f"{LOCK_NAME}: {where}.{name} must be a table of strings")
            return dict(value)

        server = text("server")
        if server != key:
            raise LockError(f"{LOCK_NAME}: {where}.server is {server!r}, not the table's name")
        verification = d.get("verification", UNVERIFIED)
        if not isinstance(verification, Mapping):
            raise LockError(f"{LOCK_NAME}: {where}.verification must be a table")
        if "package" not in d:
            raise LockError(f"{LOCK_NAME}: {where}: missing its [package] table")
        try:
            package = PackageLock.from_dict(d["package"])
        except LockError as exc:
            raise LockError(f"{LOCK_NAME}: {where}.{exc}") from exc
        pin_tools = d.get("pin_tools", True)
        if not isinstance(pin_tools, bool):
            raise LockError(f"{LOCK_NAME}: {where}.pin_tools must be true or false")
        pins = d.get("tool_pins")
        return cls(
            name=server,
            version=text("version"),
            registry=text("registry", ""),
            spec=text("spec", "latest"),
            type=text("type", ""),
            resolve=text("resolve", "publish"),
            registry_name=text("registry_name", ""),
            env=strings("env"),
            args=strings("args"),
            published_at=text("published_at", ""),
            package=package,
            verification=dict(verification),
            server_json=text("server_json", ""),
            pin_tools=pin_tools,
            tool_pins=None
            if pins is None
            else ToolPins.from_dict(pins, f"{LOCK_NAME}: {where}.tool_pins"),
        )


@dataclass(frozen=True, kw_only=True)
class Lockfile:
    """The whole lock: tools by server name and the tool sets (name -> members)."""

    tools: Mapping[str, LockedTool] = field(default_factory=dict)
    toolsets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    version: int = FORMAT_VERSION

    def with_tool(self, tool: LockedTool) -> Lockfile:
        return Lockfile(tools={**self.tools, tool.name: tool}, toolsets=self.toolsets)

    def without_tool(self, name: str) -> Lockfile:
        tools = {k: v for k, v in self.tools.items() if k != name}
        return Lockfile(tools=tools, toolsets=self.toolsets)

    def with_toolsets(self, toolsets: Mapping[str, tuple[str, ...]]) -> Lockfile:
        return Lockfile(tools=self.tools, toolsets=dict(toolsets))


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_sorted(v) for v in value]
    return value


# --- text -------------------------------------------------------------------------------------


def dumps(lock: Lockfile) -> str:
    """Deterministic TOML text of ``lock``."""
    import tomlkit

    doc: dict[str, Any] = {"version": FORMAT_VERSION}
    doc["tools"] = {name: lock.tools[name].to_dict() for name in sorted(lock.tools)}
    toolsets = {
        name: sorted(set(members)) for name, members in sorted(lock.toolsets.items()) if members
    }
    if toolsets:
        doc["toolsets"] = toolsets
    return HEADER + tomlkit.dumps(_multiline(doc))


def _multiline(value: Any) -> Any:
    """Long lists of strings one item per line, so lock diffs in review stay readable."""
    import tomlkit

    if isinstance(value, dict):
        return {k: _multiline(v) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) > 1 and all(isinstance(v, str) for v in value):
            array = tomlkit.array()
            array.extend(value)
            return array.multiline(True)
        return [_multiline(v) for v in value]
    return value


def loads(text: str, *, where: str = LOCK_NAME) -> Lockfile:
    """Parse lock text; ``LockFormatError`` (exit 2) names what is wrong and how to recover."""
    try:
        lock = _loads(text, where=where)
    except LockFormatError:
        raise
    except LockError as exc:  # every parse error is bad input, whichever helper raised it
        raise LockFormatError(str(exc)) from exc
    return lock


def _refuse_unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    """A key this mgx does not know is refused: a typo or a newer format must not be ignored."""
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise LockFormatError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))}); "
            "a newer mgx may have written it, or it is a typo"
        )


_SHA512 = re.compile(r"^sha512:[0-9a-f]{128}$")


def _check_digests(package: PackageLock, where: str) -> None:
    """A nuget package is pinned by ``sha512:<hex>`` (what NuGet publishes) and only by that;
    no other type uses ``sha512:`` (npm's integrity is ``sha512-<base64>``)."""
    nuget = package.registry_type == "nuget"
    pinned = [a.digest for a in package.artifacts]
    pinned += [h for dep in package.closure for h in dep.hashes]
    if nuget and len(package.artifacts) != 1:
        raise LockFormatError(f"{where}: a nuget package needs exactly one artifact (its .nupkg)")
    for digest in pinned:
        if nuget and not _SHA512.match(digest):
            raise LockFormatError(
                f"{where}: a nuget package is pinned by sha512:<128 hex digits>, not "
                f"{digest[:24]!r}"
            )
        if not nuget and digest.startswith("sha512:"):
            raise LockFormatError(
                f"{where}: a sha512: digest is for nuget packages only, this one is "
                f"{package.registry_type}"
            )


def _loads(text: str, *, where: str) -> Lockfile:
    import dataclasses
    import tomllib

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockError(
            f"{where} is not valid TOML ({exc}); restore it from version control or delete it "
            "and run `mgx tool sync`"
        ) from exc
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        found = "no version key" if version is None else f"{version!r}, a {type(version).__name__}"
        raise LockError(
            f"{where}: version must be the integer {FORMAT_VERSION} (version = "
            f"{FORMAT_VERSION}, no quotes); found {found}"
        )
    if version != FORMAT_VERSION:
        raise LockError(
            f"{where} has format version {version}; this mgx reads version {FORMAT_VERSION} "
            "(upgrade mgx, or delete the lock and run `mgx tool sync`)"
        )
    _refuse_unknown(doc, {"version", "tools", "toolsets"}, where)
    tools_table = doc.get("tools", {})
    if not isinstance(tools_table, Mapping):
        raise LockError(f"{where}: [tools] must be a table")
    # Allowed keys follow the dataclasses, so a field added to them is accepted at once.
    tool_keys = {f.name for f in dataclasses.fields(LockedTool)} - {"name"} | {"server"}
    package_keys = {f.name for f in dataclasses.fields(PackageLock)}
    for key, entry in tools_table.items():
        if isinstance(entry, Mapping):
            _refuse_unknown(entry, tool_keys, f"{where}: tools.{key}")
            if isinstance(entry.get("package"), Mapping):
                _refuse_unknown(entry["package"], package_keys, f"{where}: tools.{key}.package")
    tools = {key: LockedTool.from_dict(key, entry) for key, entry in tools_table.items()}
    for key, tool in tools.items():
        _check_digests(tool.package, f"{where}: tools.{key}.package")
    sets_table = doc.get("toolsets", {})
    if not isinstance(sets_table, Mapping):
        raise LockError(f"{where}: [toolsets] must be a table")
    toolsets: dict[str, tuple[str, ...]] = {}
    for name, members in sets_table.items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise LockError(f"{where}: toolsets.{name} must be a list of tool names")
        missing = [m for m in members if m not in tools]
        if missing:
            raise LockError(f"{where}: toolsets.{name} names {missing[0]!r}, which is not locked")
        toolsets[name] = tuple(members)
    return Lockfile(tools=tools, toolsets=toolsets)


def read_lock(path: Path) -> Lockfile | None:
    """The lock at ``path``, or None when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise LockError(f"cannot read {path}: {exc}") from exc
    return loads(text, where=str(path.name))


# --- manifest vs lock -------------------------------------------------------------------------


def _manifest_spec(text: str, name: str) -> Any:
    """``parse_spec`` for a manifest entry; a bad one is a ConfigError naming mgx.toml."""
    from marketplace.errors import ConfigError, SpecifierError
    from marketplace.specifiers import parse_spec

    try:
        return parse_spec(text)
    except SpecifierError as exc:
        raise ConfigError(f"mgx.toml: tools.{name}: {exc}") from exc


def unsatisfied(manifest: Manifest, lock: Lockfile | None) -> list[str]:
    """Why ``lock`` does not satisfy ``manifest`` (empty when it does), one line per reason."""
    if lock is None:
        return [f"there is no {LOCK_NAME}"] if manifest.tools else []
    from marketplace.specifiers import matches

    problems = []
    for name, req in manifest.tools.items():
        tool = lock.tools.get(name)
        if tool is None:
            problems.append(f"{name} is in mgx.toml but not in {LOCK_NAME}")
            continue
        # The lock records the specifier it was resolved for; only when the manifest's differs
        # is the version checked against it (which needs the semver library: slower to load).
        if req.version != tool.spec and not matches(
            _manifest_spec(req.version, name), tool.version, prerelease=True
        ):
            problems.append(f"{name}: locked {tool.version} does not satisfy {req.version!r}")
        if req.type and req.type != tool.package.registry_type:
            problems.append(
                f"{name}: mgx.toml asks for a {req.type} package, the lock has "
                f"{tool.package.registry_type}"
            )
        if req.resolve != tool.resolve:
            problems.append(
                f"{name}: resolve = {req.resolve!r} in mgx.toml, {tool.resolve!r} locked"
            )
        if req.registry:
            url = manifest.registries.get(req.registry, "")
            if url.rstrip("/") != tool.registry.rstrip("/"):
                problems.append(f"{name}: locked from {tool.registry}, mgx.toml says {url}")
        if dict(req.env) != dict(tool.env):
            problems.append(f"{name}: env bindings changed in mgx.toml")
        if dict(req.args) != dict(tool.args):
            problems.append(f"{name}: args changed in mgx.toml")
        if req.pin_tools != tool.pin_tools:
            problems.append(f"{name}: pin_tools changed in mgx.toml")
    for name in lock.tools:
        if name not in manifest.tools:
            problems.append(f"{name} is locked but no longer in mgx.toml")
    wanted = {k: sorted(set(v)) for k, v in manifest.toolsets.items() if v}
    have = {k: sorted(set(v)) for k, v in lock.toolsets.items() if v}
    if wanted != have:
        problems.append("[toolsets] in mgx.toml differ from the lock")
    return problems
