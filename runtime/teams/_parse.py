"""Read a team from MassGen's YAML (v0.0.23 and the vLLM type of v0.0.24) or mgx.toml.

The same schema serves both: a YAML file's top level, or the ``[team]`` table of mgx.toml
(``[[team.agents]]`` with ``id``, ``[team.agents.backend]`` ...). Structure errors raise
``TeamConfigError`` naming the key; keys that mgx does not know, or knows but cannot act on
through a chat API (provider built-in tools), give one warning each and are otherwise
ignored, so a MassGen file runs unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from runtime.errors import TeamConfigError
from runtime.teams._spec import (
    AgentSpec,
    BackendSpec,
    ContextPath,
    McpServerEntry,
    TeamLimits,
    TeamSpec,
    WorkspaceSpec,
)

# ``workspace``/``context_paths`` at the top and ``workspace`` per agent: mgx.toml's short
# forms of MassGen's ``backend.cwd`` and ``orchestrator.context_paths``.
_TOP = {
    "agent", "agents", "orchestrator", "timeout_settings", "ui", "coordination", "workspace",
    "context_paths",
}  # fmt: skip
_AGENT = {"id", "backend", "system_message", "workspace"}
# Sampling keys sent as they are; MassGen's nested OpenAI keys are flattened to the chat API.
_PASSTHROUGH = ("top_p", "presence_penalty", "frequency_penalty", "seed", "stop")
_BUILTIN_TOOLS = ("enable_web_search", "enable_code_interpreter", "enable_code_execution")
_IGNORED = {
    "api_version": "Azure's OpenAI-compatible v1 API needs no api_version",
    "permission_mode": "only for claude_code",
}
_BACKEND = {
    "type", "model", "base_url", "api_key", "temperature", "max_tokens", "mcp_servers",
    "allowed_tools", "exclude_tools", "cwd", "context_paths", "text", "reasoning",
    "extra_body", "search_parameters", *_PASSTHROUGH, *_BUILTIN_TOOLS, *_IGNORED,
}  # fmt: skip
_MCP = {"name", "type", "command", "args", "env", "url", "headers", "security", "cwd"}
_ORCH = {
    "snapshot_storage", "agent_temporary_workspace", "context_paths", "max_answers",
    "max_new_answers_per_agent", "max_steps", "token_budget", "agent_token_budget",
    "planning_mode", "side_effect_tools", "presenter", "require_tool_call",
}  # fmt: skip
_TIMEOUTS = {"orchestrator_timeout_seconds", "agent_timeout_seconds"}


def load_team_file(path: Path) -> TeamSpec:
    """A team from a YAML file (MassGen's format) or a TOML file with a ``[team]`` table."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TeamConfigError(f"cannot read {path}: {exc}") from exc
    if path.suffix == ".toml":
        import tomllib

        try:
            doc: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise TeamConfigError(f"{path} is not valid TOML ({exc})") from exc
        if "team" not in doc:
            raise TeamConfigError(f"{path} has no [team] table")
        return parse_team(doc["team"], source=f"{path} [team]")
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise TeamConfigError(f"{path} is not valid YAML ({first})") from None
    return parse_team(doc, source=str(path))


def parse_team(doc: Any, *, source: str = "team config") -> TeamSpec:
    """A ``TeamSpec`` from the parsed document (a mapping)."""
    if not isinstance(doc, Mapping):
        raise TeamConfigError(f"{source}: expected a mapping with 'agents' (or 'agent')")
    warnings: list[str] = []
    _unknown(doc, _TOP, source, "", warnings)
    if "agent" in doc and "agents" in doc:
        raise TeamConfigError(f"{source}: give either 'agent' or 'agents', not both")
    raw = doc.get("agents", [doc["agent"]] if "agent" in doc else None)
    if raw is None:
        raise TeamConfigError(f"{source}: no agents (give 'agents:' or 'agent:')")
    if not isinstance(raw, list) or not raw:
        raise TeamConfigError(f"{source}: 'agents' must be a non-empty list")
    every = _bool(doc.get("workspace", False), source, "workspace")
    agents = tuple(_agent(a, i, source, warnings, every) for i, a in enumerate(raw, start=1))
    ids = [a.id for a in agents]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise TeamConfigError(f"{source}: agent ids must be unique (repeated: {dupes[0]!r})")
    orch = _mapping(doc.get("orchestrator"), f"{source}: orchestrator")
    _unknown(orch, _ORCH, source, "orchestrator.", warnings)
    timeouts = _mapping(doc.get("timeout_settings"), f"{source}: timeout_settings")
    _unknown(timeouts, _TIMEOUTS, source, "timeout_settings.", warnings)
    coordination = _mapping(doc.get("coordination"), f"{source}: coordination")
    planning = orch.get("planning_mode", coordination.get("enable_planning_mode", False))
    _unknown(coordination, {"enable_planning_mode"}, source, "coordination.", warnings)
    presenter = orch.get("presenter")
    if presenter is not None and presenter not in ids:
        raise TeamConfigError(f"{source}: orchestrator.presenter {presenter!r} is not an agent id")
    limits = TeamLimits(
        timeout=_number(timeouts.get("orchestrator_timeout_seconds"), source, "timeout"),
        agent_timeout=_number(timeouts.get("agent_timeout_seconds"), source, "agent timeout"),
        max_answers=_int(
            orch.get("max_answers", orch.get("max_new_answers_per_agent")), source, "max_answers"
        ),
        max_steps=_int(orch.get("max_steps"), source, "max_steps"),
        token_budget=_int(orch.get("token_budget"), source, "token_budget"),
        agent_token_budget=_int(orch.get("agent_token_budget"), source, "agent_token_budget"),
        planning=_bool(planning, source, "planning_mode"),
        side_effect_tools=_names(orch.get("side_effect_tools"), source, "side_effect_tools"),
        presenter=presenter,
        require_tool_call=_bool(orch.get("require_tool_call", False), source, "require_tool_call"),
    )
    return TeamSpec(
        agents=agents,
        limits=limits,
        workspace=_run_workspace(doc, orch, source),
        ui=_mapping(doc.get("ui"), f"{source}: ui"),
        source=source,
        warnings=tuple(warnings),
    )


def _run_workspace(doc: Mapping[str, Any], orch: Mapping[str, Any], source: str) -> WorkspaceSpec:
    spec = _workspace(orch, source, "orchestrator")
    if "context_paths" not in doc:
        return spec
    top = _workspace({"context_paths": doc["context_paths"]}, source, "orchestrator")
    return replace(spec, context_paths=(*spec.context_paths, *top.context_paths))


def _agent(
    raw: Any, index: int, source: str, warnings: list[str], every: bool = False
) -> AgentSpec:
    at = f"{source}: agents[{index}]"
    if not isinstance(raw, Mapping):
        raise TeamConfigError(f"{at} must be a mapping with 'backend'")
    agent_id = str(raw.get("id") or f"agent{index}")
    at = f"{source}: agent {agent_id!r}"
    _unknown(raw, _AGENT, source, f"agents[{agent_id}].", warnings)
    backend = raw.get("backend")
    if not isinstance(backend, Mapping):
        raise TeamConfigError(f"{at} has no 'backend' mapping")
    system = raw.get("system_message")
    if system is not None and not isinstance(system, str):
        raise TeamConfigError(f"{at}: system_message must be text")
    spec = _backend(backend, agent_id, source, warnings)
    if (every or _bool(raw.get("workspace", False), at, "workspace")) and not spec.workspace.cwd:
        spec = replace(spec, workspace=replace(spec.workspace, cwd=agent_id))
    return AgentSpec(id=agent_id, backend=spec, system_message=system)


def _backend(
    raw: Mapping[str, Any], agent_id: str, source: str, warnings: list[str]
) -> BackendSpec:
    at = f"{source}: agent {agent_id!r} backend"
    prefix = f"agents[{agent_id}].backend."
    _unknown(raw, _BACKEND, source, prefix, warnings)
    kind = raw.get("type")
    model = raw.get("model")
    if not isinstance(kind, str) or not kind:
        raise TeamConfigError(f"{at} has no 'type'")
    if not isinstance(model, str) or not model:
        if kind == "claude_code":
            model = ""  # claude_code picks its own model; it is refused by type anyway
        else:
            raise TeamConfigError(f"{at} has no 'model'")
    for key in _BUILTIN_TOOLS:
        if raw.get(key):
            warnings.append(
                f"{source}: {prefix}{key} ignored: provider built-in tools are not available "
                "through the chat completions API (give the agent an MCP server instead)"
            )
    for key, why in _IGNORED.items():
        if key in raw:
            warnings.append(f"{source}: {prefix}{key} ignored ({why})")
    extra: dict[str, Any] = {k: raw[k] for k in _PASSTHROUGH if k in raw}
    reasoning = _mapping(raw.get("reasoning"), f"{at}: reasoning")
    if "effort" in reasoning:
        extra["reasoning_effort"] = reasoning["effort"]
    if "summary" in reasoning:
        warnings.append(f"{source}: {prefix}reasoning.summary ignored (not in the chat API)")
    text = _mapping(raw.get("text"), f"{at}: text")
    if "verbosity" in text:
        extra["verbosity"] = text["verbosity"]
    if "search_parameters" in raw:
        extra["search_parameters"] = raw["search_parameters"]
    extra.update(_mapping(raw.get("extra_body"), f"{at}: extra_body"))
    return BackendSpec(
        type=kind,
        model=model,
        base_url=_opt_str(raw.get("base_url"), at, "base_url"),
        api_key=_opt_str(raw.get("api_key"), at, "api_key"),
        temperature=_number(raw.get("temperature"), at, "temperature"),
        max_tokens=_int(raw.get("max_tokens"), at, "max_tokens"),
        request_extra=extra,
        mcp_servers=_mcp_servers(raw.get("mcp_servers"), at, source, prefix, warnings),
        allowed_tools=_tool_names(raw.get("allowed_tools"), at, "allowed_tools"),
        exclude_tools=_tool_names(raw.get("exclude_tools"), at, "exclude_tools"),
        workspace=_workspace(raw, at, "backend"),
    )


def _mcp_servers(
    raw: Any, at: str, source: str, prefix: str, warnings: list[str]
) -> tuple[McpServerEntry, ...]:
    if raw is None:
        return ()
    # MassGen accepts a mapping (name -> entry) or a list of entries with 'name'.
    if isinstance(raw, Mapping):
        items = [(str(name), entry) for name, entry in raw.items()]
    elif isinstance(raw, list):
        items = []
        for entry in raw:
            if not isinstance(entry, Mapping) or not entry.get("name"):
                raise TeamConfigError(f"{at}: every mcp_servers entry needs a 'name'")
            items.append((str(entry["name"]), entry))
    else:
        raise TeamConfigError(f"{at}: mcp_servers must be a mapping or a list")
    out = []
    for name, entry in items:
        where = f"{at}: mcp_servers.{name}"
        entry = _mapping(entry, where)
        _unknown(entry, _MCP, source, f"{prefix}mcp_servers.{name}.", warnings)
        if "security" in entry:
            warnings.append(
                f"{source}: {prefix}mcp_servers.{name}.security ignored (mgx connects only to "
                "the URL given)"
            )
        kind = entry.get("type")
        command = entry.get("command")
        url = entry.get("url")
        if kind is None and command is None and url is None:
            out.append(McpServerEntry(name=name, transport="lock"))
            continue
        if kind in (None, "stdio") and command:
            args = entry.get("args") or []
            if not isinstance(args, list):
                raise TeamConfigError(f"{where}: args must be a list")
            out.append(
                McpServerEntry(
                    name=name,
                    transport="stdio",
                    command=(str(command), *(str(a) for a in args)),
                    env={str(k): str(v) for k, v in _mapping(entry.get("env"), where).items()},
                )
            )
        elif kind in (None, "streamable-http", "sse") and url:
            out.append(
                McpServerEntry(
                    name=name,
                    transport="sse" if kind == "sse" else "streamable-http",
                    url=str(url),
                    headers={
                        str(k): str(v) for k, v in _mapping(entry.get("headers"), where).items()
                    },
                )
            )
        else:
            raise TeamConfigError(
                f"{where}: type {kind!r} needs "
                + ("'url'" if kind in ("streamable-http", "sse") else "'command'")
            )
    return tuple(out)


def _workspace(raw: Mapping[str, Any], at: str, level: str) -> WorkspaceSpec:
    paths = raw.get("context_paths") or []
    if not isinstance(paths, list):
        raise TeamConfigError(f"{at}: context_paths must be a list")
    context = []
    for entry in paths:
        if isinstance(entry, str):
            context.append(ContextPath(path=entry))
        elif isinstance(entry, Mapping) and entry.get("path"):
            context.append(
                ContextPath(
                    path=str(entry["path"]), permission=str(entry.get("permission", "read"))
                )
            )
        else:
            raise TeamConfigError(f"{at}: every context_paths entry needs a 'path'")
    return WorkspaceSpec(
        cwd=_opt_str(raw.get("cwd"), at, "cwd") if level == "backend" else None,
        snapshot_storage=_opt_str(raw.get("snapshot_storage"), at, "snapshot_storage"),
        agent_temporary_workspace=_opt_str(
            raw.get("agent_temporary_workspace"), at, "agent_temporary_workspace"
        ),
        context_paths=tuple(context),
    )


# -- small checks ---------------------------------------------------------------------------


def _unknown(
    raw: Mapping[str, Any], known: set[str], source: str, prefix: str, warnings: list[str]
) -> None:
    for key in raw:
        if key not in known:
            warnings.append(f"{source}: unknown key {prefix}{key} ignored")


def _mapping(value: Any, at: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TeamConfigError(f"{at} must be a mapping")
    return dict(value)


def _opt_str(value: Any, at: str, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise TeamConfigError(f"{at}: {key} must be text")
    return str(value)


def _number(value: Any, at: str, key: str) -> float | None:
    if value is None:
        return None
    low_ok = key == "temperature"  # 0 is a valid temperature, not a valid timeout
    if isinstance(value, bool) or not isinstance(value, int | float) or (value <= 0 and not low_ok):
        raise TeamConfigError(f"{at}: {key} must be a positive number (got {value!r})")
    return float(value)


def _int(value: Any, at: str, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TeamConfigError(f"{at}: {key} must be a whole number of at least 1 (got {value!r})")
    return value


def _bool(value: Any, at: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise TeamConfigError(f"{at}: {key} must be true or false (got {value!r})")
    return value


def _names(value: Any, at: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TeamConfigError(f"{at}: {key} must be a list of names")
    return tuple(value)


def _tool_names(value: Any, at: str, key: str) -> tuple[str, ...]:
    """MassGen names MCP tools ``mcp__server__tool``; mgx exposes ``server__tool``."""
    return tuple(n.removeprefix("mcp__") for n in _names(value, at, key))
