"""MassGen v0.0.23 workspace keys → what ``RunWorkspaces`` needs.

Reads the raw YAML mapping (as the config loader parsed it) and picks out ``backend.cwd``
per agent and ``orchestrator.snapshot_storage`` / ``agent_temporary_workspace`` /
``context_paths``. The directory names MassGen gives are not used as paths: every run has
its own fixed layout under its run directory (docs/workspaces.md, "MassGen workspace keys").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.workspaces._errors import WorkspaceConfigError

__all__ = ["WorkspaceConfig", "workspace_config"]


@dataclass(frozen=True, kw_only=True)
class WorkspaceConfig:
    """The workspace part of one MassGen config."""

    workspace_agents: tuple[str, ...]  # ids of the agents with ``cwd``, in config order
    context_paths: tuple[Mapping[str, Any], ...]  # raw entries: validate_context_paths
    snapshot_storage: str | None = None
    agent_temporary_workspace: str | None = None
    cwd_names: Mapping[str, str] | None = None  # agent id -> the cwd value it gave

    @property
    def enabled(self) -> bool:
        """Whether the run needs workspaces (or context paths) at all."""
        return bool(self.workspace_agents or self.context_paths)

    def notes(self) -> list[str]:
        """One line per key whose value mgx accepts but does not use as a path."""
        out = [
            f"{agent}: cwd {name!r} is created as workspaces/{agent} in the run directory"
            for agent, name in (self.cwd_names or {}).items()
        ]
        if self.snapshot_storage:
            out.append(
                f"snapshot_storage {self.snapshot_storage!r}: snapshots/ in the run directory"
            )
        if self.agent_temporary_workspace:
            out.append(
                f"agent_temporary_workspace {self.agent_temporary_workspace!r}: "
                "views/ in the run directory"
            )
        return out


def _agents(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "agents" in config:
        agents = config["agents"]
        if not isinstance(agents, Sequence) or isinstance(agents, str):
            raise WorkspaceConfigError("agents: expected a list")
        return [a for a in agents if isinstance(a, Mapping)]
    single = config.get("agent")
    return [single] if isinstance(single, Mapping) else []


def workspace_config(config: Mapping[str, Any]) -> WorkspaceConfig:
    """The workspace keys of a MassGen config (``agent:``/``agents:``, ``orchestrator:``)."""
    agents: list[str] = []
    names: dict[str, str] = {}
    for index, agent in enumerate(_agents(config)):
        backend = agent.get("backend")
        cwd = backend.get("cwd") if isinstance(backend, Mapping) else None
        if cwd is None:
            continue
        agent_id = agent.get("id", f"agent{index + 1}")
        if not isinstance(cwd, str) or not cwd.strip():
            raise WorkspaceConfigError(f"agent {agent_id}: backend.cwd must be a directory name")
        agents.append(str(agent_id))
        names[str(agent_id)] = cwd
    orchestrator = config.get("orchestrator") or {}
    if not isinstance(orchestrator, Mapping):
        raise WorkspaceConfigError("orchestrator: expected a mapping")
    raw_paths = orchestrator.get("context_paths") or []
    if not isinstance(raw_paths, Sequence) or isinstance(raw_paths, str):
        raise WorkspaceConfigError(
            "orchestrator.context_paths: expected a list of {path, permission}"
        )
    storage = orchestrator.get("snapshot_storage")
    temporary = orchestrator.get("agent_temporary_workspace")
    return WorkspaceConfig(
        workspace_agents=tuple(agents),
        context_paths=tuple(raw_paths),
        snapshot_storage=str(storage) if storage else None,
        agent_temporary_workspace=str(temporary) if temporary else None,
        cwd_names=names,
    )
