"""Run a declared team: endpoints per agent, MCP servers, tool filters, then coordination.

This is what ``mgx run`` calls. Nothing starts before the whole config has been checked:
unsupported keys and backend types, endpoints and keys, ``${VAR}`` references and locked
server names all fail first, with one line naming what is wrong.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.errors import TeamConfigError
from runtime.teams._files import FilesOptions, TeamFiles, plan_files, record_turn, session_prompt
from runtime.teams._providers import backend_problem, expand_value, resolve_endpoint
from runtime.teams._spec import AgentSpec, McpServerEntry, TeamSpec

if TYPE_CHECKING:
    from marketplace.settings import Settings
    from runtime.coordination import CoordinationEvent, EventSink, Transcript
    from runtime.runner import TaskOutcome
    from runtime.tools import ServerSpec, ToolFilter


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """How ``mgx run`` runs a team beyond what the config says (the CLI's options)."""

    base_url: str | None = None  # --base-url: every agent's endpoint
    api_key_env: str | None = None  # --api-key-env: the key variable for every agent
    max_steps: int = 10
    tool_timeout: float = 60.0
    startup_timeout: float = 60.0
    timeout: float | None = None  # overrides the config's orchestrator timeout
    planning: bool | None = None  # overrides the config's planning mode
    require_tool_call: bool = False  # tool_choice=required on every coordination turn
    log_dir: Path | None = None
    project_dir: Path | None = None
    environ: Mapping[str, str] | None = field(default=None, repr=False)
    files: FilesOptions = field(default_factory=FilesOptions)  # --output, --keep, --session


def check_team(spec: TeamSpec) -> None:
    """Refuse a team this release cannot run, naming the first unsupported thing."""
    # A backend type that cannot run at all is named before any unsupported key.
    problems = [
        f"agent {agent.id!r}: {why}"
        for agent in spec.agents
        if (why := backend_problem(agent.backend.type))
    ]
    problems += spec.unsupported()
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise TeamConfigError(f"{spec.source}: {problems[0]}{more}")


async def run_team(
    task: str,
    spec: TeamSpec,
    *,
    settings: Settings | None = None,
    run: RunSettings | None = None,
    on_event: EventSink | None = None,
    transcript: Transcript | None = None,
) -> TaskOutcome:
    """Run ``task`` with the team ``spec``; returns the runner's ``TaskOutcome`` (``team``
    holds the ``CoordinationResult``). ``transcript`` (an open ``Transcript``) gets every
    event, with this team's API keys and MCP env/header values redacted. Raises
    ``TeamConfigError`` before anything starts when the config cannot run; ``AgentError``
    (``CoordinationFailed``), ``ToolError`` or ``LLMError`` as the runner does."""
    from marketplace.settings import Settings
    from runtime.client import ChatClient
    from runtime.coordination import CoordinationOptions, Member, coordinate
    from runtime.runner import TaskOutcome
    from runtime.tools import ToolHub

    opts = run or RunSettings()
    settings = settings or Settings.from_env()
    env = os.environ if opts.environ is None else opts.environ
    check_team(spec)
    endpoints = {
        a.id: resolve_endpoint(
            a.id,
            a.backend.type,
            base_url=a.backend.base_url,
            api_key=a.backend.api_key,
            override_url=opts.base_url,
            override_key_var=opts.api_key_env,
            environ=env,
        )
        for a in spec.agents
    }
    servers, per_agent = _servers(spec.agents, settings, opts, env)
    # Last of the checks, as it makes the run's directory (removed again on failure).
    base = Path(spec.base_dir) if spec.base_dir else Path.cwd()
    files, session = plan_files(
        spec, opts.files, settings=settings, project_dir=opts.project_dir, base=base
    )
    session_text = session_prompt(session)
    if transcript is not None:
        transcript.add_secrets(e.api_key for e in endpoints.values() if e.api_key)
        for server in servers:
            transcript.add_secrets([*server.env.values(), *server.headers.values()])
        on_event = _both(on_event, transcript)
    limits = spec.limits
    timeout = opts.timeout if opts.timeout is not None else limits.timeout
    options = CoordinationOptions(
        max_steps=limits.max_steps or opts.max_steps,
        max_answers=limits.max_answers,
        agent_timeout=limits.agent_timeout,
        timeout=timeout,
        # The same bound again for the presentation, so a run ends within about twice the
        # configured timeout at most, answer included.
        presentation_timeout=timeout,
        agent_token_budget=limits.agent_token_budget,
        token_budget=limits.token_budget,
        tool_timeout=opts.tool_timeout,
        planning=limits.planning if opts.planning is None else opts.planning,
        side_effect_tools=limits.side_effect_tools,
        presenter=limits.presenter,
        require_tool_call=opts.require_tool_call or limits.require_tool_call,
    )
    served: dict[str, list[str]] = {}
    import time
    from dataclasses import replace

    started = time.perf_counter()  # usage time includes the tool servers' start-up
    started_at = time.time()
    async with contextlib.AsyncExitStack() as stack:
        if files is not None:
            # A failed run leaves nothing behind (unless --keep); pushed first, so it runs
            # after the hubs have stopped.
            stack.push(_abandon_on_error(files))
        hub = None
        by_name = {s.name: s for s in servers}
        if files is not None:
            for agent in spec.agents:
                files.add_agent(
                    agent.id,
                    servers=[by_name[n] for n in per_agent[agent.id]],
                    tool_filter=_tool_filter(agent, per_agent[agent.id]),
                    system_message=agent.system_message,
                )
            await files.start(
                stack,
                call_timeout=opts.tool_timeout,
                startup_timeout=opts.startup_timeout,
                log_dir=opts.log_dir,
            )
        elif servers:
            hub = await stack.enter_async_context(
                ToolHub(
                    servers,
                    call_timeout=opts.tool_timeout,
                    startup_timeout=opts.startup_timeout,
                    log_dir=opts.log_dir,
                )
            )
        # Any: ChatClient takes a wider tools type than the ChatModel protocol declares.
        clients: dict[tuple[str, str, str | None], Any] = {}
        members = []
        for agent in spec.agents:
            endpoint = endpoints[agent.id]
            model = agent.backend.model
            if opts.base_url:
                model = await _served_model(endpoint.base_url, endpoint.api_key, model, served)
            key = (endpoint.base_url, model, endpoint.api_key)
            if key not in clients:
                client = ChatClient(endpoint.base_url, model, api_key=endpoint.api_key)
                clients[key] = await stack.enter_async_context(client)
            if files is not None:
                tool_filter = files.tool_filter(agent.id)
                access = files.agents[agent.id].access
                system: str | None = files.system_message(agent.id, access) or None
            else:
                tool_filter = _tool_filter(agent, per_agent[agent.id])
                system = _joined(agent.system_message, session_text)
            members.append(
                Member(
                    name=agent.id,
                    client=clients[key],
                    model=model,
                    system_message=system,
                    tool_filter=tool_filter,
                    temperature=agent.backend.temperature,
                    max_tokens=agent.backend.max_tokens,
                    request_extra=dict(agent.backend.request_extra) or None,
                )
            )
        team = await coordinate(
            task, members, hub=hub, options=options, on_event=on_event, files=files
        )
        final: Path | None = None
        if files is not None:
            outcome = await files.finish()
            final = outcome.final_workspace
            team = replace(team, workspace=outcome.to_json())
        if opts.files.session is not None:
            turn = record_turn(
                settings,
                opts.files.session,
                task=task,
                answer=team.answer,
                workspace=final,
                started_at=started_at,
                winner=team.to_json()["winner_name"],
            )
            team = replace(team, session=turn)
        statuses = files.statuses() if files is not None else []
        if hub is not None:
            statuses += hub.status()
        return TaskOutcome(
            answer=team.answer,
            usage=replace(team.usage, wall_s=time.perf_counter() - started),
            servers=tuple(statuses),
            team=team,
            tools=team.tools,
        )
    raise AssertionError("unreachable")  # pragma: no cover - the exit stack does not swallow


def _servers(
    agents: Sequence[AgentSpec],
    settings: Settings | None,
    opts: RunSettings,
    env: Mapping[str, str],
) -> tuple[list[ServerSpec], dict[str, list[str]]]:
    """Every agent's MCP servers as ServerSpecs (one per distinct server; an agent's server
    whose name another agent uses for a different server gets a suffix), and which server
    names each agent may use."""

    specs: dict[str, ServerSpec] = {}
    per_agent: dict[str, list[str]] = {}
    locked: Locked | None = None
    for agent in agents:
        names = []
        for entry in agent.backend.mcp_servers:
            if entry.transport == "lock":
                if locked is None:
                    locked = _locked(settings, opts)
                spec = locked.get(entry.name)
                if spec is None:
                    raise TeamConfigError(
                        f"agent {agent.id!r}: mcp server {entry.name!r} has no command or url "
                        "and is not a tool in the project's mgx.lock"
                    )
            else:
                spec = _server_spec(entry, agent.id, env)
            name = entry.name
            n = 2
            while name in specs and specs[name] != _renamed(spec, name):
                name = f"{entry.name}_{n}"
                n += 1
            specs[name] = _renamed(spec, name)
            names.append(name)
        per_agent[agent.id] = names
    return list(specs.values()), per_agent


def _renamed(spec: ServerSpec, name: str) -> ServerSpec:
    from dataclasses import replace

    return replace(spec, name=name)


def _server_spec(entry: McpServerEntry, agent_id: str, env: Mapping[str, str]) -> ServerSpec:
    from runtime.tools import ServerSpec

    what = f"agent {agent_id!r} mcp server {entry.name!r}"
    if entry.transport == "stdio":
        # The server inherits PATH and the like from mgx; ``env`` adds the configured ones.
        return ServerSpec(
            name=entry.name,
            transport="stdio",
            command=tuple(expand_value(a, env, what) for a in entry.command),
            env={k: expand_value(v, env, what) for k, v in entry.env.items()},
        )
    return ServerSpec(
        name=entry.name,
        transport="sse" if entry.transport == "sse" else "streamable-http",
        url=expand_value(entry.url or "", env, what),
        headers={k: expand_value(v, env, what) for k, v in entry.headers.items()},
    )


def _locked(settings: Settings | None, opts: RunSettings) -> Locked:
    """The project's locked tools, resolved one by one when a team names them (a tool the
    team does not use may lack its env values without failing the run)."""
    from marketplace.lockfile import read_lock
    from marketplace.project import find_project
    from marketplace.settings import Settings
    from runtime.toolset_loader import short_names

    project = find_project(opts.project_dir, settings=settings or Settings.from_env())
    lock = read_lock(project.lock_path)
    tools = dict(lock.tools) if lock is not None else {}
    shorts = short_names(sorted(tools))
    return Locked(project=project, tools=tools, shorts=shorts, environ=opts.environ)


@dataclass
class Locked:
    project: Any
    tools: dict[str, Any]
    shorts: dict[str, str]
    environ: Mapping[str, str] | None = None

    def get(self, name: str) -> ServerSpec | None:
        from marketplace.project import launch_spec
        from runtime.toolset_loader import server_spec

        full = (
            name
            if name in self.tools
            else next((f for f, short in self.shorts.items() if short == name), None)
        )
        if full is None:
            return None
        launch = launch_spec(self.project, self.tools[full], environ=self.environ)
        return server_spec(self.shorts[full], launch)


def _tool_filter(agent: AgentSpec, servers: list[str]) -> ToolFilter:
    """Only the agent's own servers' tools, narrowed by allowed_tools, minus exclude_tools."""
    from runtime.tools import HubTool, ToolFilter

    allowed = agent.backend.allowed_tools
    own = frozenset(servers)

    def admits(tool: HubTool) -> bool:
        if tool.server not in own:
            return False
        if not allowed:
            return True
        import fnmatch

        keys = (tool.name, f"{tool.server}__{tool.tool}", f"{tool.server}/{tool.tool}", tool.tool)
        return any(fnmatch.fnmatchcase(k, p) for k in keys for p in allowed)

    return ToolFilter(deny=agent.backend.exclude_tools, predicate=admits)


async def _served_model(
    base_url: str, api_key: str | None, wanted: str, cache: dict[str, list[str]]
) -> str:
    """With --base-url, the config's model when the endpoint serves it, else the endpoint's
    first model (a MassGen file names cloud models that a local server does not have)."""
    import httpx

    from runtime.errors import LLMError

    if base_url not in cache:
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        url = base_url.rstrip("/") + "/models"
        try:
            async with httpx.AsyncClient(timeout=10.0) as http:
                response = await http.get(url, headers=headers)
            data: Any = response.json() if response.status_code == 200 else {}
            cache[base_url] = [str(m["id"]) for m in data.get("data", [])]
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LLMError(f"cannot list the models of {url}: {exc or type(exc).__name__}") from exc
        if not cache[base_url]:
            raise LLMError(f"{url} lists no model")
    models = cache[base_url]
    return wanted if wanted in models else models[0]


def _joined(*parts: str | None) -> str | None:
    text = "\n\n".join(p.strip() for p in parts if p and p.strip())
    return text or None


def _abandon_on_error(files: TeamFiles) -> Any:
    def on_exit(exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is not None and not files.finished:
            files.abandon()
        return False

    return on_exit


def _both(first: EventSink | None, second: EventSink) -> EventSink:
    if first is None:
        return second

    def sink(event: CoordinationEvent) -> None:
        first(event)
        second(event)

    return sink
