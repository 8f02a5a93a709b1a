"""server.json arguments → invocation templates (at resolve), templates → argv (at launch).

Substitution is a single regex pass over each argv item: a value is inserted verbatim as (part
of) one argv item and is never re-scanned, split or given to a shell, so ``; rm -rf ~`` stays a
harmless string.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from marketplace.errors import ConfigError, InstallError
from marketplace.installers._model import (
    TOOL_DIR_VAR,
    InputSpec,
    Invocation,
    KeyValueSpec,
    LaunchSpec,
    PackageLock,
)
from marketplace.installers._staging import is_installed, tool_dir
from marketplace.installers._validate import (
    validate_argument_value,
    validate_env_name,
    validate_header_name,
    validate_input_name,
)
from marketplace.settings import Settings
from registry_cache.serverjson import Argument, Input, KeyValueInput

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


# --- compile (resolve time) -------------------------------------------------------------------


class InputCollector:
    """Accumulates the inputs an invocation refers to, merging repeated declarations."""

    def __init__(self) -> None:
        self._inputs: dict[str, InputSpec] = {}

    def add(self, name: str, spec: Input) -> str:
        name = _input_name(name)
        new = InputSpec(
            name=name,
            required=spec.is_required,
            secret=spec.is_secret,
            default=spec.default or "",
            format=spec.format,
            choices=tuple(spec.choices),
        )
        old = self._inputs.get(name)
        if old is not None:
            new = InputSpec(
                name=name,
                required=old.required or new.required,
                secret=old.secret or new.secret,
                default=old.default or new.default,
                format=old.format,
                choices=old.choices or new.choices,
            )
        self._inputs[name] = new
        return name

    def variables(self, template: str, variables: Mapping[str, Input]) -> str:
        """Declare the ``{variables}`` a fixed value uses (undeclared ones stay literal)."""
        for match in _PLACEHOLDER.finditer(template):
            var = match.group(1)
            if var in variables and var != TOOL_DIR_VAR:
                self.add(var, variables[var])
        return template

    def result(self) -> tuple[InputSpec, ...]:
        return tuple(self._inputs.values())


def _input_name(name: str) -> str:
    cleaned = _BAD_NAME_CHARS.sub("_", name.lstrip("-")).strip("_") or "value"
    if not cleaned[0].isalpha() and cleaned[0] != "_":
        cleaned = f"_{cleaned}"
    if cleaned == TOOL_DIR_VAR:
        raise InstallError(f"input name {TOOL_DIR_VAR!r} is reserved by mgx")
    validate_input_name(cleaned)
    return cleaned


def compile_arguments(
    arguments: Iterable[Argument], inputs: InputCollector
) -> list[tuple[str, ...]]:
    """server.json ``packageArguments``/``runtimeArguments`` → argv groups."""
    groups: list[tuple[str, ...]] = []
    for arg in arguments:
        if arg.type == "named":
            flag = arg.name or ""
            if not flag or "\x00" in flag or any(c.isspace() for c in flag):
                raise InstallError(f"named argument {flag!r} is not a valid flag")
            if arg.value is not None:
                groups.append((flag, inputs.variables(arg.value, arg.variables)))
            else:
                name = inputs.add(arg.value_hint or flag, arg)
                groups.append((flag, "{" + name + "}"))
        else:
            if arg.value is not None:
                groups.append((inputs.variables(arg.value, arg.variables),))
            else:
                name = inputs.add(arg.value_hint or "value", arg)
                groups.append(("{" + name + "}",))
    return groups


def compile_key_values(
    items: Iterable[KeyValueInput], inputs: InputCollector, *, header: bool
) -> tuple[KeyValueSpec, ...]:
    out = []
    for item in items:
        (validate_header_name if header else validate_env_name)(item.name)
        value = inputs.variables(item.value, item.variables) if item.value is not None else ""
        out.append(
            KeyValueSpec(
                name=item.name,
                value=value,
                required=item.is_required,
                secret=item.is_secret,
                default=item.default or "",
            )
        )
    return tuple(out)


# --- render (launch time) ---------------------------------------------------------------------


def _render(
    template: str, values: Mapping[str, str | None], declared: set[str]
) -> tuple[str, list[str]]:
    """Substitute declared placeholders; returns the text and the declared names left unset."""
    unset: list[str] = []

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in declared:
            return match.group(0)  # server.json: unknown {names} stay as they are
        value = values.get(name)
        if value is None:
            unset.append(name)
            return match.group(0)
        return value

    return _PLACEHOLDER.sub(sub, template), unset


def resolve_invocation(
    settings: Settings,
    lock: PackageLock,
    *,
    env_bindings: Mapping[str, str],
    arg_values: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
) -> LaunchSpec:
    """Turn a lock's invocation into a ``LaunchSpec`` for this machine.

    ``env_bindings`` maps a name the server uses (an env var, header or input) to the
    environment variable holding its value; unbound env vars are read under their own name.
    ``arg_values`` gives values of non-secret inputs (from the manifest). Missing required
    values raise ``ConfigError`` naming them (never a value).
    """
    environ = os.environ if environ is None else environ
    inv: Invocation = lock.invocation
    specs = {i.name: i for i in inv.inputs}
    unknown = sorted(set(arg_values) - set(specs))
    if unknown:
        known = ", ".join(specs) or "none"
        raise ConfigError(
            f"{lock.identifier}: unknown argument(s) {', '.join(unknown)} (it takes: {known})"
        )

    directory = tool_dir(settings, lock)
    values: dict[str, str | None] = {TOOL_DIR_VAR: str(directory)}
    for name, spec in specs.items():
        value = arg_values.get(name)
        if value is None and name in env_bindings:
            value = environ.get(env_bindings[name])
        if value is None and spec.default:
            value = spec.default
        if value is not None:
            validate_argument_value(
                name,
                value,
                positional=False,
                format=spec.format,
                choices=spec.choices,
                secret=spec.secret,
            )
        values[name] = value
    declared = set(specs) | {TOOL_DIR_VAR}
    missing: dict[str, str] = {}

    def required_unset(names: list[str], kind: str) -> bool:
        """Record the required inputs among ``names``; True if any input is unset at all."""
        for name in names:
            if specs.get(name, InputSpec(name=name)).required:
                missing.setdefault(name, kind)
        return bool(names)

    argv: list[str] = []
    if inv.command:
        command, unset = _render(inv.command, values, declared)
        required_unset(unset, "argument")
        argv.append(command)
    for group in inv.args:
        rendered = []
        group_unset: list[str] = []
        for item in group:
            text, unset = _render(item, values, declared)
            group_unset += unset
            rendered.append(text)
        if required_unset(group_unset, "argument"):
            continue  # an optional argument without a value is left out as a whole
        if rendered[0].startswith("-") and not group[0].startswith("-"):
            raise ConfigError(
                f"{lock.identifier}: a positional argument value starts with '-' and would be "
                "read as an option; refusing it"
            )
        argv.extend(rendered)

    env = _key_values(inv.env, values, declared, env_bindings, environ, missing, "env")
    headers = _key_values(inv.headers, values, declared, env_bindings, environ, missing, "header")
    url = ""
    if inv.url:
        url, unset = _render(inv.url, values, declared)
        if unset:
            for name in unset:
                missing.setdefault(name, "URL variable")
    if missing:
        # A bound name is read from the variable it is bound to: that is the one to set.
        listed = ", ".join(
            f"{env_bindings[name]} (bound to {name}, {kind})"
            if name in env_bindings
            else f"{name} ({kind})"
            for name, kind in missing.items()
        )
        raise ConfigError(
            f"{lock.identifier}: required value(s) not set: {listed}; set them in the environment "
            "(or bind them to another variable in mgx.toml)"
        )

    cwd: Path | None = None
    if lock.registry_type != "remote":
        if not is_installed(settings, lock):
            raise InstallError(
                f"{lock.identifier} {lock.version} is not installed; run `mgx tool sync`"
            )
        cwd = directory
    if argv:
        argv[0] = _executable(argv[0], directory)
    return LaunchSpec(
        command=tuple(argv),
        env=env,
        cwd=cwd,
        transport=inv.transport,
        url=url,
        headers=headers,
        name=lock.identifier,
    )


def _key_values(
    items: Iterable[KeyValueSpec],
    values: Mapping[str, str | None],
    declared: set[str],
    bindings: Mapping[str, str],
    environ: Mapping[str, str],
    missing: dict[str, str],
    kind: str,
) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if item.value:
            text, unset = _render(item.value, values, declared)
            if unset:
                if item.required:
                    for name in unset:
                        missing.setdefault(name, f"{kind} {item.name}")
                continue
            out[item.name] = text
            continue
        value = environ.get(bindings.get(item.name, item.name))
        if value is None and item.default:
            value = item.default
        if value is None:
            if item.required:
                missing.setdefault(item.name, kind)
            continue
        if "\x00" in value:
            raise ConfigError(f"{kind} {item.name} contains a NUL byte")
        out[item.name] = value
    return out


def _executable(command: str, directory: Path) -> str:
    """An absolute path for argv[0]: inside the tool dir, or found on PATH."""
    if os.path.isabs(command):
        if not os.access(command, os.X_OK):
            raise InstallError(f"{command} is missing or not executable; run `mgx tool sync`")
        return command
    if command == "docker" and shutil.which("docker") is None and shutil.which("podman"):
        command = "podman"  # the same CLI; the lock names docker for portability
    found = shutil.which(command)
    if found is None:
        raise InstallError(f"{command!r} is not on PATH; install it to run this server")
    return found
