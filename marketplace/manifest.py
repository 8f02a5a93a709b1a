"""``mgx.toml``: the project manifest (what the user wants), read fast and edited faithfully.

::

    [registries]                  # optional: names for registries tools may pin
    team = "https://mcp.example.com"

    [policy]
    verify = "prefer"             # provenance policy: "require" | "prefer" | "off"

    [tools]
    "io.github.modelcontextprotocol/server-time" = "^2026.10"
    "io.github.example/github" = { version = "^1.2", type = "npm", registry = "team",
        env = { GITHUB_TOKEN = { env = "GH_TOKEN" } }, args = { config_path = "/x" },
        resolve = "publish", verify = "require" }

    [toolsets.research]
    tools = ["io.github.modelcontextprotocol/server-time"]
    deny = ["*delete*"]           # optional: which MCP tools the gateway hides (globs on
    allow = []                    # server__tool or server/tool); deny wins over allow

Reading uses the stdlib ``tomllib`` (every command reads the manifest; ``sync --frozen`` must
be quick); edits go through tomlkit so the user's comments, order and layout survive. A secret
never belongs here: an ``env`` entry binds a name the server uses to *another environment
variable's name*; a literal value is refused with a message that does not repeat it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketplace.errors import ConfigError

__all__ = [
    "MANIFEST_NAME",
    "PACKAGE_TYPES",
    "RESOLVE_MODES",
    "VERIFY_MODES",
    "Manifest",
    "Policy",
    "ToolRequirement",
    "edit_manifest",
    "parse_manifest",
    "read_manifest",
]

MANIFEST_NAME = "mgx.toml"
PACKAGE_TYPES = ("pypi", "npm", "mcpb", "nuget", "oci", "remote")
RESOLVE_MODES = ("publish", "now")
VERIFY_MODES = ("require", "prefer", "off")
# Earlier mgx wrote "warn" for what is now "prefer"; it is read as such, with a note.
_LEGACY_VERIFY = {"warn": "prefer"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_SERVER_NAME = re.compile(r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$")
_TOOLSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_REGISTRY_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
_TOOL_KEYS = ("version", "type", "registry", "resolve", "env", "args", "pin_tools", "verify")


@dataclass(frozen=True, kw_only=True)
class ToolRequirement:
    """One ``[tools]`` entry. ``env`` maps a name the server uses to the variable holding it."""

    name: str
    version: str = "latest"
    type: str = ""
    registry: str = ""
    resolve: str = "publish"
    env: Mapping[str, str] = field(default_factory=dict)
    args: Mapping[str, str] = field(default_factory=dict)
    pin_tools: bool = True  # false: tool descriptions are not pinned (docs/security.md)
    verify: str = ""  # this tool's provenance policy ("" = the project's [policy] verify)

    @property
    def is_simple(self) -> bool:
        """Whether the entry can be written as a bare version string."""
        return not (self.type or self.registry or self.env or self.args or self.verify) and (
            self.resolve == "publish" and self.pin_tools
        )


@dataclass(frozen=True, kw_only=True)
class Policy:
    verify: str = "prefer"
    notes: tuple[str, ...] = field(default=(), compare=False)  # e.g. an old spelling read


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """A parsed, validated manifest. ``tools`` keeps the file's order."""

    tools: Mapping[str, ToolRequirement] = field(default_factory=dict)
    toolsets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Per tool set: (allow, deny) glob patterns over the MCP tools its servers offer.
    tool_filters: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=dict
    )
    registries: Mapping[str, str] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)


# --- reading ----------------------------------------------------------------------------------


def read_manifest(path: Path, *, strict: bool = True) -> Manifest:
    """Parse ``path`` (an empty manifest when it does not exist); see ``parse_manifest``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Manifest()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    return parse_manifest(text, where=str(path), strict=strict)


def parse_manifest(text: str, *, where: str = MANIFEST_NAME, strict: bool = True) -> Manifest:
    """Parse and validate manifest text; ``ConfigError`` names the offending key.

    ``strict=False`` checks version specifiers' characters only, not their grammar: parsing
    ranges needs the semver library, whose import ``sync --frozen`` cannot afford (it checks a
    specifier properly whenever it differs from the one the lock was resolved for).
    """
    import tomllib

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML ({exc})") from exc
    # [team] belongs to the runtime (agents and their models); the marketplace leaves it be,
    # and edits through tomlkit keep it as written.
    unknown = sorted(set(doc) - {"registries", "policy", "tools", "toolsets", "team"})
    if unknown:
        raise ConfigError(
            f"{where}: unknown section {unknown[0]!r} "
            "(expected registries, policy, tools, toolsets, team)"
        )
    registries = _registries(_table(doc, "registries", where), where)
    policy = _policy(_table(doc, "policy", where), where)
    tools: dict[str, ToolRequirement] = {}
    for name, entry in _table(doc, "tools", where).items():
        tools[name] = parse_requirement(name, entry, where=where, strict=strict)
        if tools[name].registry and tools[name].registry not in registries:
            raise ConfigError(
                f"{where}: tools.{_key(name)}.registry {tools[name].registry!r} is not declared "
                "in [registries]"
            )
    toolsets: dict[str, tuple[str, ...]] = {}
    filters: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for set_name, entry in _table(doc, "toolsets", where).items():
        toolsets[set_name] = _toolset(set_name, entry, tools, where)
        filters[set_name] = (
            _patterns(entry, "allow", f"{where}: toolsets.{set_name}"),
            _patterns(entry, "deny", f"{where}: toolsets.{set_name}"),
        )
    return Manifest(
        tools=tools,
        toolsets=toolsets,
        tool_filters=filters,
        registries=registries,
        policy=policy,
    )


def _key(name: str) -> str:
    return f'"{name}"' if "/" in name or "." in name else name


def _table(doc: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _registries(table: Mapping[str, Any], where: str) -> dict[str, str]:
    out = {}
    for name, url in table.items():
        if not _REGISTRY_NAME.match(name):
            raise ConfigError(f"{where}: registries.{name}: invalid registry name")
        if not isinstance(url, str) or not _URL.match(url):
            raise ConfigError(f"{where}: registries.{name} must be an http(s) URL")
        if "@" in url.split("://", 1)[1].split("/", 1)[0]:
            # mgx.toml is committed and its URLs are copied into mgx.lock: no credentials.
            raise ConfigError(
                f"{where}: registries.{name} contains user information; remove it (a token "
                "comes from the registry's --token-env)"
            )
        out[name] = url.rstrip("/")
    return out


def _policy(table: Mapping[str, Any], where: str) -> Policy:
    unknown = sorted(set(table) - {"verify"})
    if unknown:
        raise ConfigError(f"{where}: unknown policy key {unknown[0]!r} (expected: verify)")
    verify, note = _verify_mode(table.get("verify", "prefer"), f"{where}: policy.verify")
    return Policy(verify=verify, notes=(note,) if note else ())


def _verify_mode(value: Any, at: str) -> tuple[str, str]:
    """(mode, note): one of VERIFY_MODES; an old spelling is read with a note saying so."""
    if isinstance(value, str) and value in _LEGACY_VERIFY:
        new = _LEGACY_VERIFY[value]
        return new, f'{at} = "{value}" is read as "{new}"; write "{new}" ("{value}" is deprecated)'
    if value not in VERIFY_MODES:
        raise ConfigError(f"{at} must be one of {', '.join(VERIFY_MODES)}, got {value!r}")
    return str(value), ""


def parse_requirement(
    name: str, entry: Any, *, where: str = MANIFEST_NAME, strict: bool = True
) -> ToolRequirement:
    """One ``[tools]`` value: a version string or an inline table."""
    at = f"{where}: tools.{_key(name)}"
    if not _SERVER_NAME.match(name):
        raise ConfigError(f"{at}: {name!r} is not a server name (namespace/name)")
    if isinstance(entry, str):
        return ToolRequirement(name=name, version=_version(entry, at, strict))
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{at} must be a version string or a table")
    unknown = sorted(set(entry) - set(_TOOL_KEYS))
    if unknown:
        raise ConfigError(f"{at}: unknown key {unknown[0]!r} (expected: {', '.join(_TOOL_KEYS)})")
    kind = _opt_str(entry, "type", at)
    if kind and kind not in PACKAGE_TYPES:
        raise ConfigError(f"{at}.type must be one of {', '.join(PACKAGE_TYPES)}, got {kind!r}")
    resolve = _opt_str(entry, "resolve", at) or "publish"
    if resolve not in RESOLVE_MODES:
        raise ConfigError(f"{at}.resolve must be one of {', '.join(RESOLVE_MODES)}")
    pin_tools = entry.get("pin_tools", True)
    if not isinstance(pin_tools, bool):
        raise ConfigError(f"{at}.pin_tools must be true or false")
    verify = _opt_str(entry, "verify", at)
    if verify and verify not in VERIFY_MODES:
        # A per-tool policy is new: only the current vocabulary is accepted here.
        raise ConfigError(f"{at}.verify must be one of {', '.join(VERIFY_MODES)}, got {verify!r}")
    return ToolRequirement(
        name=name,
        version=_version(entry.get("version", "latest"), f"{at}.version", strict),
        type=kind,
        registry=_opt_str(entry, "registry", at),
        resolve=resolve,
        env=_env_bindings(entry.get("env", {}), f"{at}.env"),
        args=_args(entry.get("args", {}), f"{at}.args"),
        pin_tools=pin_tools,
        verify=verify,
    )


_SPEC_CHARS = re.compile(r"^[0-9A-Za-z.+_~^*<>=|, -]{1,255}$")


def _version(value: Any, at: str, strict: bool) -> str:
    """The normalised specifier (grammar checked only when ``strict``)."""
    if not isinstance(value, str):
        raise ConfigError(f'{at} must be a version string such as "^1.2" or "latest"')
    text = " ".join(value.split())
    if text in ("", "*"):
        return "latest"
    if not _SPEC_CHARS.match(text) or text.startswith("-"):
        raise ConfigError(
            f"{at}: invalid version specifier {value[:40]!r}: use an exact version (1.2.3), a "
            "range (^1.2, ~1.2.3, >=1 <2, 1.x) or 'latest'"
        )
    if strict:
        from marketplace.errors import ResolutionError
        from marketplace.specifiers import parse_spec

        try:
            return parse_spec(text).text
        except ResolutionError as exc:
            raise ConfigError(f"{at}: {exc}") from exc
    return text.lstrip("=") if re.fullmatch(r"=[^ <>=|]+", text) else text


def _opt_str(entry: Mapping[str, Any], key: str, at: str) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"{at}.{key} must be a string")
    return value


def _env_bindings(value: Any, at: str) -> dict[str, str]:
    """``NAME = { env = "VAR" }`` only: a literal value could be a secret, so never accepted."""
    if not isinstance(value, Mapping):
        raise ConfigError(f'{at} must be a table of NAME = {{ env = "VARIABLE" }}')
    out = {}
    for name, binding in value.items():
        if not _INPUT_NAME.match(name):
            raise ConfigError(f"{at}: {name!r} is not a valid variable or input name")
        if not isinstance(binding, Mapping):
            # Deliberately not repeating the value: it may well be a token.
            raise ConfigError(
                f"{at}.{name} holds a value; mgx.toml never stores secret values. Bind it to "
                f'an environment variable instead: {name} = {{ env = "{name}" }}'
            )
        if set(binding) != {"env"} or not isinstance(binding["env"], str):
            raise ConfigError(f'{at}.{name} must be {{ env = "VARIABLE" }}')
        if not _ENV_NAME.match(binding["env"]):
            raise ConfigError(f"{at}.{name}.env must be an environment variable name")
        out[name] = binding["env"]
    return out


def _args(value: Any, at: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(f'{at} must be a table of INPUT = "value"')
    out = {}
    for name, item in value.items():
        if not _INPUT_NAME.match(name):
            raise ConfigError(f"{at}: {name!r} is not a valid input name")
        if isinstance(item, bool):
            item = "true" if item else "false"
        elif isinstance(item, (int, float)):
            item = str(item)
        if not isinstance(item, str):
            raise ConfigError(f"{at}.{name} must be a string, number or boolean")
        if "\x00" in item:
            raise ConfigError(f"{at}.{name} contains a NUL byte")
        out[name] = item
    return out


def _toolset(
    name: str, entry: Any, tools: Mapping[str, ToolRequirement], where: str
) -> tuple[str, ...]:
    at = f"{where}: toolsets.{name}"
    if not _TOOLSET_NAME.match(name):
        raise ConfigError(f"{at}: invalid tool set name (letters, digits, '_', '.', '-')")
    if not isinstance(entry, Mapping) or set(entry) - {"tools", "allow", "deny"}:
        raise ConfigError(f"{at} must be a table with keys tools = [...], allow, deny")
    members = entry.get("tools", [])
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise ConfigError(f"{at}.tools must be a list of tool names")
    for member in members:
        if member not in tools:
            raise ConfigError(f"{at}: {member!r} is not in [tools]")
    return tuple(dict.fromkeys(members))


def _patterns(entry: Any, key: str, at: str) -> tuple[str, ...]:
    """A tool set's ``allow`` / ``deny`` list of glob patterns (see ``ToolFilter``)."""
    value = entry.get(key, []) if isinstance(entry, Mapping) else []
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise ConfigError(f"{at}.{key} must be a list of tool name patterns")
    return tuple(value)


# --- editing ----------------------------------------------------------------------------------


def validate_toolset_name(name: str) -> None:
    if not _TOOLSET_NAME.match(name):
        raise ConfigError(
            f"invalid tool set name {name!r}: use letters, digits, '_', '.', '-' (max 64)"
        )


class ManifestEditor:
    """Edits of an ``mgx.toml`` text with tomlkit, keeping everything it does not touch."""

    def __init__(self, text: str) -> None:
        import tomlkit

        self._original = text
        self._doc = tomlkit.parse(text)

    @property
    def changed(self) -> bool:
        return self.text() != self._original

    def text(self) -> str:
        import tomlkit

        return tomlkit.dumps(self._doc)

    def _tools(self) -> Any:
        import tomlkit

        if "tools" not in self._doc:
            self._doc["tools"] = tomlkit.table()
        return self._doc["tools"]

    def set_tool(self, req: ToolRequirement) -> None:
        """Add or update ``req``; an existing inline table keeps its other keys and comments."""
        import tomlkit

        tools = self._tools()
        current = tools.get(req.name)
        if current is not None and isinstance(current, MutableMapping):
            wanted = _requirement_items(req)
            for key in _TOOL_KEYS:
                if key in wanted:
                    current[key] = wanted[key]
                elif key in current:
                    del current[key]
            return
        if req.is_simple:
            tools[req.name] = req.version
            return
        inline = tomlkit.inline_table()
        for key, value in _requirement_items(req).items():
            inline[key] = value
        tools[req.name] = inline

    def remove_tool(self, name: str) -> None:
        tools = self._tools()
        if name in tools:
            del tools[name]
        sets = self._doc.get("toolsets")
        if sets is not None:
            emptied = []
            for set_name, entry in sets.items():
                members = entry.get("tools") if isinstance(entry, Mapping) else None
                if members is not None and name in members:
                    members.remove(name)
                    if not members:
                        emptied.append(set_name)
            # A tool set that lost its last tool goes too: `tools = []` is noise in review.
            for set_name in emptied:
                del sets[set_name]
            if not sets:
                del self._doc["toolsets"]

    def add_to_toolset(self, toolset: str, name: str) -> None:
        import tomlkit

        validate_toolset_name(toolset)
        if "toolsets" not in self._doc:
            self._doc["toolsets"] = tomlkit.table(is_super_table=True)
        sets = self._doc["toolsets"]
        if toolset not in sets:
            entry = tomlkit.table()
            entry["tools"] = tomlkit.array()
            sets[toolset] = entry
        members = sets[toolset].setdefault("tools", tomlkit.array())
        if name not in members:
            members.append(name)


def _requirement_items(req: ToolRequirement) -> dict[str, Any]:
    import tomlkit

    out: dict[str, Any] = {"version": req.version}
    if req.type:
        out["type"] = req.type
    if req.registry:
        out["registry"] = req.registry
    if req.resolve != "publish":
        out["resolve"] = req.resolve
    if req.env:
        env = tomlkit.inline_table()
        for name, var in req.env.items():
            binding = tomlkit.inline_table()
            binding["env"] = var
            env[name] = binding
        out["env"] = env
    if req.args:
        args = tomlkit.inline_table()
        for name, value in req.args.items():
            args[name] = value
        out["args"] = args
    if not req.pin_tools:
        out["pin_tools"] = False
    if req.verify:
        out["verify"] = req.verify
    return out


def edit_manifest(text: str) -> ManifestEditor:
    """An editor over ``text`` (raises ``ConfigError`` when it is not valid TOML)."""
    try:
        return ManifestEditor(text)
    except Exception as exc:  # tomlkit raises several unrelated parse error types
        raise ConfigError(f"{MANIFEST_NAME} is not valid TOML ({exc})") from exc
