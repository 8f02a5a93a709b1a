"""Typed models of server.json (schema 2025-12-11) and the registry's ``_meta``.

``parse_server`` turns a raw document into frozen dataclasses, checking the constraints of the
official JSON schema that matter to a client; a violation raises ``ServerJsonError`` naming the
field (``packages[0].version: ...``). ``from_legacy`` converts the snake_case format of 2025 (the
registry's first seed) into the current camelCase one so old mirrors can be imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from registry_cache.errors import ServerJsonError

SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
OFFICIAL_META = "io.modelcontextprotocol.registry/official"
CURATED_META = "dev.mgx/curated"

NAME_RE = re.compile(r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$")
SHA256_RE = re.compile(r"^[a-f0-9]{64}$")
URL_RE = re.compile(r"^https?://[^\s]+$")
SIZE_RE = re.compile(r"^(\d+x\d+|any)$")
PACKAGE_TYPES = ("npm", "pypi", "nuget", "oci", "mcpb", "cargo")
TRANSPORTS = ("stdio", "streamable-http", "sse")
STATUSES = ("active", "deprecated", "deleted")
INPUT_FORMATS = ("string", "number", "boolean", "filepath")
ICON_MIME = ("image/png", "image/jpeg", "image/jpg", "image/svg+xml", "image/webp")

JSON = dict[str, Any]


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Input:
    """A value the user may be asked for (argument, env var, header, URL variable)."""

    description: str | None = None
    is_required: bool = False
    is_secret: bool = False
    format: str = "string"
    value: str | None = None
    default: str | None = None
    placeholder: str | None = None
    choices: tuple[str, ...] = ()
    variables: Mapping[str, Input] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class KeyValueInput(Input):
    """An environment variable or HTTP header."""

    name: str


@dataclass(frozen=True, kw_only=True)
class Argument(Input):
    """A command-line argument: ``positional`` (value inserted verbatim) or ``named`` (a flag)."""

    type: str
    name: str | None = None
    value_hint: str | None = None
    is_repeated: bool = False


@dataclass(frozen=True, kw_only=True)
class Transport:
    type: str
    url: str | None = None
    headers: tuple[KeyValueInput, ...] = ()
    variables: Mapping[str, Input] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Package:
    registry_type: str
    identifier: str
    transport: Transport
    version: str | None = None
    registry_base_url: str | None = None
    file_sha256: str | None = None
    runtime_hint: str | None = None
    runtime_arguments: tuple[Argument, ...] = ()
    package_arguments: tuple[Argument, ...] = ()
    environment_variables: tuple[KeyValueInput, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Repository:
    url: str
    source: str
    id: str | None = None
    subfolder: str | None = None


@dataclass(frozen=True, kw_only=True)
class Icon:
    src: str
    mime_type: str | None = None
    sizes: tuple[str, ...] = ()
    theme: str | None = None


@dataclass(frozen=True, kw_only=True)
class RegistryMeta:
    """What the registry says about a version (``_meta`` of a ServerResponse)."""

    status: str = "active"
    status_message: str | None = None
    published_at: str | None = None
    updated_at: str | None = None
    is_latest: bool = False
    curated: bool = False


@dataclass(frozen=True, kw_only=True)
class ServerVersion:
    """One version of one server, as published (``server``) plus registry metadata."""

    name: str
    description: str
    version: str
    title: str | None = None
    repository: Repository | None = None
    website_url: str | None = None
    icons: tuple[Icon, ...] = ()
    packages: tuple[Package, ...] = ()
    remotes: tuple[Transport, ...] = ()
    meta: RegistryMeta = field(default_factory=RegistryMeta)
    raw: JSON = field(default_factory=dict, repr=False, compare=False)
    # The response-level ``_meta`` as received (registry extensions), kept so that a mirror
    # (``mgx registry serve``) can hand it on unchanged.
    raw_meta: JSON = field(default_factory=dict, repr=False, compare=False)

    @property
    def package_types(self) -> tuple[str, ...]:
        """Distinct package types, plus ``remote`` when the server has remotes."""
        types = dict.fromkeys(p.registry_type for p in self.packages)
        if self.remotes:
            types["remote"] = None
        return tuple(types)

    @property
    def transports(self) -> tuple[str, ...]:
        found = [p.transport.type for p in self.packages] + [r.type for r in self.remotes]
        return tuple(dict.fromkeys(found))


# --- parsing ----------------------------------------------------------------------------------


def _fail(path: str, message: str) -> ServerJsonError:
    return ServerJsonError(f"{path}: {message}" if path else message)


def _obj(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, "must be an object")
    return value


def _list(doc: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(f"{path}{key}", "must be an array")
    return value


def _str(
    doc: Mapping[str, Any],
    key: str,
    path: str,
    *,
    required: bool = False,
    min_len: int = 0,
    max_len: int | None = None,
    pattern: re.Pattern[str] | None = None,
    choices: tuple[str, ...] | None = None,
) -> str | None:
    where = f"{path}{key}"
    if key not in doc or doc[key] is None:
        if required:
            raise _fail(where, "is required")
        return None
    value = doc[key]
    if not isinstance(value, str):
        raise _fail(where, "must be a string")
    if len(value) < min_len:
        raise _fail(where, f"must be at least {min_len} characters")
    if max_len is not None and len(value) > max_len:
        raise _fail(where, f"must be at most {max_len} characters (got {len(value)})")
    if pattern is not None and not pattern.match(value):
        raise _fail(where, f"{value!r} does not match {pattern.pattern}")
    if choices is not None and value not in choices:
        raise _fail(where, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _bool(doc: Mapping[str, Any], key: str, path: str) -> bool:
    value = doc.get(key, False)
    if not isinstance(value, bool):
        raise _fail(f"{path}{key}", "must be true or false")
    return value


def _input_fields(doc: Mapping[str, Any], path: str) -> dict[str, Any]:
    choices = _list(doc, "choices", path)
    if not all(isinstance(c, str) for c in choices):
        raise _fail(f"{path}choices", "must be an array of strings")
    variables = doc.get("variables") or {}
    return {
        "description": _str(doc, "description", path),
        "is_required": _bool(doc, "isRequired", path),
        "is_secret": _bool(doc, "isSecret", path),
        "format": _str(doc, "format", path, choices=INPUT_FORMATS) or "string",
        "value": _str(doc, "value", path),
        "default": _str(doc, "default", path),
        "placeholder": _str(doc, "placeholder", path),
        "choices": tuple(choices),
        "variables": _variables(variables, f"{path}variables"),
    }


def _variables(value: Any, path: str) -> dict[str, Input]:
    return {
        str(k): Input(**_input_fields(_obj(v, f"{path}.{k}"), f"{path}.{k}."))
        for k, v in _obj(value, path).items()
    }


def _key_value(doc: Any, path: str) -> KeyValueInput:
    doc = _obj(doc, path)
    name = _str(doc, "name", f"{path}.", required=True, min_len=1)
    assert name is not None
    return KeyValueInput(name=name, **_input_fields(doc, f"{path}."))


def _argument(doc: Any, path: str) -> Argument:
    doc = _obj(doc, path)
    p = f"{path}."
    kind = _str(doc, "type", p, required=True, choices=("positional", "named"))
    assert kind is not None
    name = _str(doc, "name", p, required=kind == "named", min_len=1)
    value_hint = _str(doc, "valueHint", p)
    if kind == "positional" and value_hint is None and doc.get("value") is None:
        raise _fail(path, 'a positional argument needs "valueHint" or "value"')
    return Argument(
        type=kind,
        name=name,
        value_hint=value_hint,
        is_repeated=_bool(doc, "isRepeated", p),
        **_input_fields(doc, p),
    )


def _transport(doc: Any, path: str, *, remote: bool = False) -> Transport:
    doc = _obj(doc, path)
    p = f"{path}."
    allowed = TRANSPORTS[1:] if remote else TRANSPORTS
    kind = _str(doc, "type", p, required=True, choices=allowed)
    assert kind is not None
    url = _str(doc, "url", p, required=kind != "stdio", pattern=URL_RE)
    headers = tuple(
        _key_value(h, f"{path}.headers[{i}]") for i, h in enumerate(_list(doc, "headers", p))
    )
    variables = _variables(doc.get("variables") or {}, f"{path}.variables")
    return Transport(type=kind, url=url, headers=headers, variables=variables)


def _package(doc: Any, path: str) -> Package:
    doc = _obj(doc, path)
    p = f"{path}."
    registry_type = _str(doc, "registryType", p, required=True, min_len=1)
    identifier = _str(doc, "identifier", p, required=True, min_len=1)
    version = _str(doc, "version", p, min_len=1, max_len=255)
    assert registry_type is not None and identifier is not None
    if version == "latest":
        raise _fail(f"{path}.version", '"latest" is not allowed: give an exact version')
    if "transport" not in doc:
        raise _fail(f"{path}.transport", "is required")
    return Package(
        registry_type=registry_type,
        identifier=identifier,
        version=version,
        registry_base_url=_str(doc, "registryBaseUrl", p, pattern=URL_RE),
        file_sha256=_str(doc, "fileSha256", p, pattern=SHA256_RE),
        runtime_hint=_str(doc, "runtimeHint", p),
        transport=_transport(doc["transport"], f"{path}.transport"),
        runtime_arguments=tuple(
            _argument(a, f"{path}.runtimeArguments[{i}]")
            for i, a in enumerate(_list(doc, "runtimeArguments", p))
        ),
        package_arguments=tuple(
            _argument(a, f"{path}.packageArguments[{i}]")
            for i, a in enumerate(_list(doc, "packageArguments", p))
        ),
        environment_variables=tuple(
            _key_value(e, f"{path}.environmentVariables[{i}]")
            for i, e in enumerate(_list(doc, "environmentVariables", p))
        ),
    )


def _icon(doc: Any, path: str) -> Icon:
    doc = _obj(doc, path)
    p = f"{path}."
    src = _str(doc, "src", p, required=True, max_len=255, pattern=re.compile(r"^https://"))
    assert src is not None
    sizes = _list(doc, "sizes", p)
    for i, size in enumerate(sizes):
        if not isinstance(size, str) or not SIZE_RE.match(size):
            raise _fail(f"{path}.sizes[{i}]", f"{size!r} is not WxH or 'any'")
    return Icon(
        src=src,
        mime_type=_str(doc, "mimeType", p, choices=ICON_MIME),
        sizes=tuple(sizes),
        theme=_str(doc, "theme", p, choices=("light", "dark")),
    )


def _meta(doc: Any) -> RegistryMeta:
    if not isinstance(doc, Mapping):
        return RegistryMeta()
    official = doc.get(OFFICIAL_META)
    curated = bool(doc.get(CURATED_META))
    if not isinstance(official, Mapping):
        return RegistryMeta(curated=curated)
    p = "_meta.official."
    return RegistryMeta(
        status=_str(official, "status", p, choices=STATUSES) or "active",
        status_message=_str(official, "statusMessage", p),
        published_at=_str(official, "publishedAt", p),
        updated_at=_str(official, "updatedAt", p),
        is_latest=bool(official.get("isLatest", False)),
        curated=curated,
    )


def parse_server(doc: Any, meta: Any = None, *, max_description: int | None = 100) -> ServerVersion:
    """Parse a server.json document (optionally with the response's ``_meta``).

    Accepts either a bare server.json or a ServerResponse (``{"server": ..., "_meta": ...}``).
    ``max_description=None`` lifts the 100-character limit, for legacy data that predates it.
    """
    if isinstance(doc, Mapping) and "server" in doc and isinstance(doc["server"], Mapping):
        meta = doc.get("_meta") if meta is None else meta
        doc = doc["server"]
    doc = _obj(doc, "server")
    name = _str(doc, "name", "", required=True, min_len=3, max_len=200, pattern=NAME_RE)
    description = _str(doc, "description", "", required=True, min_len=1, max_len=max_description)
    version = _str(doc, "version", "", required=True, min_len=1, max_len=255)
    assert name is not None and description is not None and version is not None
    repository = None
    if doc.get("repository") is not None:
        repo = _obj(doc["repository"], "repository")
        url = _str(repo, "url", "repository.", required=True)
        source = _str(repo, "source", "repository.", required=True)
        assert url is not None and source is not None
        repository = Repository(
            url=url,
            source=source,
            id=_str(repo, "id", "repository."),
            subfolder=_str(repo, "subfolder", "repository."),
        )
    return ServerVersion(
        name=name,
        description=description,
        version=version,
        title=_str(doc, "title", "", min_len=1, max_len=100),
        repository=repository,
        website_url=_str(doc, "websiteUrl", "", pattern=URL_RE),
        icons=tuple(_icon(d, f"icons[{i}]") for i, d in enumerate(_list(doc, "icons", ""))),
        packages=tuple(
            _package(d, f"packages[{i}]") for i, d in enumerate(_list(doc, "packages", ""))
        ),
        remotes=tuple(
            _transport(d, f"remotes[{i}]", remote=True)
            for i, d in enumerate(_list(doc, "remotes", ""))
        ),
        meta=_meta(meta if meta is not None else doc.get("_meta")),
        raw=dict(doc),
        raw_meta=dict(meta) if isinstance(meta, Mapping) else {},
    )


# --- the legacy (2025-05) snake_case format ---------------------------------------------------

_LEGACY_TYPES = {"npm": "npm", "pypi": "pypi", "docker": "oci", "nuget": "nuget"}
_LEGACY_RUNTIME = {"npm": "npx", "pypi": "uvx", "oci": "docker", "nuget": "dnx"}


def is_legacy(doc: Mapping[str, Any]) -> bool:
    return "version_detail" in doc


def _legacy_input(doc: Mapping[str, Any]) -> JSON:
    out: JSON = {}
    for old, new in (
        ("description", "description"),
        ("is_required", "isRequired"),
        ("is_secret", "isSecret"),
        ("format", "format"),
        ("value", "value"),
        ("default", "default"),
        ("choices", "choices"),
    ):
        value = doc.get(old)
        if value not in (None, "", []):
            out[new] = value
    if out.get("format") not in INPUT_FORMATS:
        out.pop("format", None)
    return out


def _legacy_argument(doc: Mapping[str, Any]) -> JSON:
    out = {"type": doc.get("type") or "positional", **_legacy_input(doc)}
    if doc.get("value_hint"):
        out["valueHint"] = doc["value_hint"]
    if doc.get("is_repeated"):
        out["isRepeated"] = True
    if out["type"] == "named":
        out["name"] = doc.get("name") or doc.get("value_hint") or "--arg"
    elif "valueHint" not in out and "value" not in out:
        out["valueHint"] = doc.get("name") or "value"
    return out


def from_legacy(doc: Mapping[str, Any]) -> tuple[JSON, JSON]:
    """Convert a legacy document to ``(server_json, official_meta)`` in today's format.

    Packages of unknown registry types are dropped (the legacy seed marks many ``unknown``).
    """
    detail = doc.get("version_detail") or {}
    name = doc.get("name")
    # The legacy seed left many descriptions empty; the current schema requires one.
    description = doc.get("description") or f"{str(name).rsplit('/', 1)[-1]} (no description)"
    server: JSON = {
        "$schema": SCHEMA_URL,
        "name": name,
        "description": description,
        "version": detail.get("version"),
    }
    repo = doc.get("repository")
    if isinstance(repo, Mapping) and repo.get("url"):
        server["repository"] = {
            k: repo[k] for k in ("url", "source", "id", "subfolder") if repo.get(k)
        }
        server["repository"].setdefault("source", "github")
    packages = []
    for pkg in doc.get("packages") or []:
        registry_type = _LEGACY_TYPES.get(str(pkg.get("registry_name")))
        if registry_type is None:
            continue
        out: JSON = {
            "registryType": registry_type,
            "identifier": pkg.get("name"),
            "runtimeHint": pkg.get("runtime_hint") or _LEGACY_RUNTIME[registry_type],
            "transport": {"type": "stdio"},
        }
        if pkg.get("version"):
            out["version"] = pkg["version"]
        for old, new in (
            ("runtime_arguments", "runtimeArguments"),
            ("package_arguments", "packageArguments"),
        ):
            if pkg.get(old):
                out[new] = [_legacy_argument(a) for a in pkg[old]]
        if pkg.get("environment_variables"):
            out["environmentVariables"] = [
                {"name": e.get("name"), **_legacy_input(e)} for e in pkg["environment_variables"]
            ]
        packages.append(out)
    if packages:
        server["packages"] = packages
    remotes = [
        {"type": r.get("transport_type"), "url": r.get("url")}
        for r in doc.get("remotes") or []
        if r.get("transport_type") in TRANSPORTS[1:]
    ]
    if remotes:
        server["remotes"] = remotes
    meta = {
        "status": "active",
        "publishedAt": detail.get("release_date"),
        "updatedAt": detail.get("release_date"),
        "isLatest": bool(detail.get("is_latest", True)),
    }
    return server, {k: v for k, v in meta.items() if v is not None}
