"""What mgx writes into a client: the gateway entry, per-tool entries, or raw invocations.

An entry starts as a ``Launch`` (command, args, env) and is rendered in the client's own shape.
Environment values are never written: a ``Ref`` names the variable holding the value and is
rendered in the client's reference syntax (``${env:VAR}``, ``${VAR}``, ``{env:VAR}``,
``${{ secrets.VAR }}``), or as a list of names the client forwards (Goose ``env_keys``, Codex
``env_vars``). A client without any such syntax gets no env at all; a raw invocation that
needs a secret is refused there (the gateway entry works: mgx reads the variable itself).
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marketplace.errors import ConfigError

if TYPE_CHECKING:
    from marketplace.clients._table import Client
    from marketplace.project import Project

__all__ = [
    "Launch",
    "Ref",
    "direct_launches",
    "gateway_command",
    "gateway_launch",
    "per_tool_launches",
    "render",
]

GATEWAY_COMMAND = "mgx"
_REF = re.compile(r"^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$")


@dataclass(frozen=True)
class Ref:
    """The value of environment variable ``var`` (written as a reference, never resolved)."""

    var: str


@dataclass(frozen=True, kw_only=True)
class Launch:
    name: str  # the entry's key in the client's config
    command: str
    args: list[str]
    env: dict[str, str | Ref] = field(default_factory=dict)
    # True when mgx itself reads the variables (gateway, tool run): a client that cannot
    # reference them just has to run mgx in an environment holding them.
    via_mgx: bool = True


def gateway_command() -> str:
    """How a client should start this mgx: ``mgx`` when that is what PATH finds, else a path.

    A client starts the entry with its own PATH, usually not the shell's venv: writing plain
    ``mgx`` for an mgx installed in a virtual environment would leave an entry that fails when
    the client starts it. So the bare name is written only when PATH finds this very program.
    """
    argv0 = Path(sys.argv[0])
    running = argv0 if argv0.name == GATEWAY_COMMAND else Path(sys.executable).parent / "mgx"
    if not running.exists():
        return GATEWAY_COMMAND
    on_path = shutil.which(GATEWAY_COMMAND)
    if on_path is not None and Path(on_path).resolve() == running.resolve():
        return GATEWAY_COMMAND
    return str(running.absolute())


def _bound_vars(project: Project, names: list[str]) -> dict[str, str | Ref]:
    lock = project.lock()
    variables = sorted({v for n in names for v in lock.tools[n].env.values()})
    return {v: Ref(v) for v in variables}


def _selected(project: Project, toolset: str | None) -> list[str]:
    from marketplace.errors import LockError

    lock = project.lock()
    if not lock.tools:
        raise LockError(f"no tools are locked in {project.root}; run `mgx tool install NAME`")
    if toolset is None:
        return sorted(lock.tools)
    if toolset not in lock.toolsets:
        known = ", ".join(sorted(lock.toolsets)) or "none"
        raise ConfigError(f"no tool set {toolset!r} in mgx.lock (tool sets: {known})")
    return sorted(lock.toolsets[toolset])


def gateway_launch(project: Project, toolset: str | None, *, command: str) -> Launch:
    """One entry: ``mgx tool serve [--toolset T] -C PROJECT``."""
    names = _selected(project, toolset)
    args = ["tool", "serve", *(["--toolset", toolset] if toolset else []), "-C", str(project.root)]
    return Launch(
        name=f"mgx-{toolset}" if toolset else "mgx",
        command=command,
        args=args,
        env=_bound_vars(project, names),
    )


def per_tool_launches(project: Project, toolset: str | None, *, command: str) -> list[Launch]:
    """One entry per tool: ``mgx tool run NAME -C PROJECT``."""
    names = _selected(project, toolset)
    shorts = [n.rsplit("/", 1)[-1] for n in names]
    out = []
    for name, short in zip(names, shorts, strict=True):
        label = short if shorts.count(short) == 1 else name.replace("/", "-")
        out.append(
            Launch(
                name=f"mgx-{label}",
                command=command,
                args=["tool", "run", name, "-C", str(project.root)],
                env=_bound_vars(project, [name]),
            )
        )
    return out


def direct_launches(project: Project, toolset: str | None) -> tuple[list[Launch], list[str]]:
    """The raw locked invocations (as ``mgx tool export`` builds them); remote tools skipped."""
    from marketplace.commands import export

    result = export(project, "cursor", toolset=toolset)
    out = []
    skipped = list(result.skipped)
    for key, entry in result.config["mcpServers"].items():
        if "command" not in entry:
            skipped.append(key)
            continue
        env: dict[str, str | Ref] = {}
        for var, value in entry.get("env", {}).items():
            match = _REF.match(value)
            env[var] = Ref(match.group(1)) if match else value
        label = key.replace("/", "-")
        out.append(
            Launch(
                name=f"mgx-{label}",
                command=entry["command"],
                args=list(entry["args"]),
                env=env,
                via_mgx=False,
            )
        )
    return out, skipped


def render(client: Client, launch: Launch) -> tuple[dict[str, Any], list[str]]:
    """``launch`` as ``client`` writes a server entry; returns ``(entry, notes)``."""
    notes: list[str] = []
    env, forwarded = _env(client, launch, notes)
    shape = client.shape
    if shape == "opencode":
        entry: dict[str, Any] = {
            "type": "local",
            "command": [launch.command, *launch.args],
            "enabled": True,
        }
        if env:
            entry["environment"] = env
        return entry, notes
    if shape == "goose":
        entry = {
            "name": launch.name,
            "type": "stdio",
            "cmd": launch.command,
            "args": launch.args,
            "enabled": True,
            "envs": env,
            "env_keys": forwarded,
            "timeout": 300,
        }
        return entry, notes
    if shape == "codex":
        entry = {"command": launch.command, "args": launch.args}
        if env:
            entry["env"] = env
        if forwarded:
            entry["env_vars"] = forwarded
        return entry, notes
    entry = {"type": "stdio"} if shape == "vscode" else {}
    if shape == "continue":
        entry["name"] = launch.name
    entry.update({"command": launch.command, "args": launch.args})
    if env:
        entry["env"] = env
    return entry, notes


def _env(client: Client, launch: Launch, notes: list[str]) -> tuple[dict[str, str], list[str]]:
    """Literal values and references in the client's syntax, plus names it forwards."""
    env: dict[str, str] = {}
    forwarded: list[str] = []
    for var, value in launch.env.items():
        if not isinstance(value, Ref):
            env[var] = value
        elif client.ref is not None:
            env[var] = client.ref % value.var
        elif client.shape in ("goose", "codex"):
            if var != value.var:
                raise ConfigError(
                    f"{client.name} forwards variables by name, but {launch.name} needs "
                    f"{var} from ${value.var}; use the gateway entry (drop --direct)"
                )
            forwarded.append(var)
        elif launch.via_mgx:
            notes.append(f"{client.name} has no env references: run it with {value.var} set")
        else:
            raise ConfigError(
                f"{client.name} has no syntax for environment references and {launch.name} "
                f"needs {var}; use the gateway entry (drop --direct)"
            )
    return env, sorted(forwarded)
