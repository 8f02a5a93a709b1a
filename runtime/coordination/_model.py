"""The public values of coordination: members, options, events and the result."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.agent import RunUsage
from runtime.coordination._state import Answer, Vote
from runtime.errors import AgentError

if TYPE_CHECKING:
    from runtime.agent import ChatModel
    from runtime.autonomy import GuardOutcome
    from runtime.tools import ToolFilter


@dataclass(frozen=True, kw_only=True)
class Member:
    """One agent of a team. ``name`` is its configured id (never shown to the other agents:
    they see it as ``agent1``... in registration order)."""

    name: str
    client: ChatModel
    model: str = ""  # the model id, for reports
    system_message: str | None = None  # appended after the shared coordination prompt
    tool_filter: ToolFilter | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    request_extra: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class CoordinationOptions:
    """Limits and switches of one coordination run (None: no limit)."""

    max_steps: int = 10  # model calls per agent round (tool calls in between)
    max_answers: int | None = None  # new answers per agent
    agent_timeout: float | None = None  # seconds of work per agent, all rounds together
    timeout: float | None = None  # seconds for the whole coordination (then present)
    agent_token_budget: int | None = None  # tokens per agent, all rounds together
    token_budget: int | None = None  # tokens for the whole coordination (then present)
    tool_timeout: float | None = None  # per tool call; None: the hub's default
    presentation_timeout: float | None = None  # seconds for the presenter (and its repair)
    # Planning mode: tools with side effects are withheld until the presentation. A tool has
    # side effects unless its server marks it ``readOnlyHint: true`` (MCP's default is
    # false), or when it matches one of ``side_effect_tools`` (globs, like --deny).
    planning: bool = False
    side_effect_tools: tuple[str, ...] = ()
    presenter: str | None = None  # a member's name; default: the winner
    # Ask for a tool call on every coordination turn (``tool_choice: required``), not only on
    # the reminder: small local models drift into prose, and vLLM then constrains the output
    # to a call. A server that refuses the parameter is asked without it.
    require_tool_call: bool = False
    max_answer_chars: int | None = None  # new_answer's maxLength (None: unbounded)

    def __post_init__(self) -> None:
        if self.max_steps < 1:
            raise AgentError(f"max_steps must be at least 1 (got {self.max_steps})")
        for name in ("max_answers", "agent_token_budget", "token_budget", "max_answer_chars"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise AgentError(f"{name} must be at least 1 (got {value})")
        for name in ("agent_timeout", "timeout", "tool_timeout", "presentation_timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise AgentError(f"{name} must be positive (got {value})")


@dataclass(frozen=True, kw_only=True)
class CoordinationEvent:
    """Something that happened, for a live view or a transcript.

    ``kind``: ``round`` (an agent starts a round), ``message`` (one chat message appended to
    an agent's history, in ``data``), ``tool`` (a tool call and its result), ``answer``,
    ``vote``, ``restart``, ``failed``, ``present`` (presentation starts), ``guard``, ``final``.
    """

    agent: str  # anonymised id, or "" for the orchestrator
    kind: str
    text: str = ""
    data: Mapping[str, Any] | None = None


EventSink = Callable[[CoordinationEvent], None]


@dataclass(frozen=True, kw_only=True)
class AgentReport:
    """What one agent did over the run."""

    id: str  # anonymised id (agent1...)
    name: str  # configured id
    model: str
    state: str  # working | answered | voted | failed (working: cut off by a timeout)
    answers: int
    rounds: int
    restarts: int
    usage: RunUsage
    failure: str | None = None


@dataclass(frozen=True, kw_only=True)
class CoordinationResult:
    """The outcome of ``coordinate``.

    ``decision`` says how the winner was chosen: ``"votes"`` (every live agent voted),
    ``"votes at timeout"`` / ``"votes at token budget"`` (the limit hit first: the votes
    that existed decided), or ``"no valid votes: ..."`` (the result says so, never silently).
    """

    task: str
    answer: str
    winner: str
    presenter: str
    decision: str
    answers: tuple[Answer, ...]
    votes: tuple[Vote, ...]
    tally: dict[str, int]
    rounds: int
    restarts: int
    agents: tuple[AgentReport, ...]
    failures: dict[str, str]
    guard: GuardOutcome
    usage: RunUsage
    timed_out: bool = False
    presenter_error: str | None = None
    tools: tuple[str, ...] = field(default=())
    # The run's files (``WorkspaceResult.to_json()``: final workspace, context writes or
    # their dry-run diff, ...); None when the run had no workspaces.
    workspace: Mapping[str, Any] | None = None
    session: Mapping[str, Any] | None = None  # the session turn this run recorded

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form (plain types only)."""
        return {
            "answer": self.answer,
            "winner": self.winner,
            "winner_name": self._name(self.winner),
            "presenter": self.presenter,
            "decision": self.decision,
            "timed_out": self.timed_out,
            "votes": [
                {"voter": v.voter, "choice": v.choice, "reason": v.reason} for v in self.votes
            ],
            "tally": dict(self.tally),
            "answers": [
                {"agent": a.agent, "revision": a.revision, "content": a.content}
                for a in self.answers
            ],
            "rounds": self.rounds,
            "restarts": self.restarts,
            "guard": self.guard.to_json(),
            "failures": dict(self.failures),
            "presenter_error": self.presenter_error,
            "agents": [_agent_json(a) for a in self.agents],
            "usage": _usage_json(self.usage),
            "workspace": dict(self.workspace) if self.workspace is not None else None,
            "session": dict(self.session) if self.session is not None else None,
        }

    def _name(self, agent: str) -> str:
        return next((a.name for a in self.agents if a.id == agent), agent)


def _usage_json(usage: RunUsage) -> dict[str, Any]:
    from dataclasses import asdict

    return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(usage).items()}


def _agent_json(report: AgentReport) -> dict[str, Any]:
    return {
        "id": report.id,
        "name": report.name,
        "model": report.model,
        "state": report.state,
        "answers": report.answers,
        "rounds": report.rounds,
        "restarts": report.restarts,
        "failure": report.failure,
        "usage": _usage_json(report.usage),
    }


class CoordinationFailed(AgentError):
    """No agent produced an answer. ``agents`` and ``failures`` say what each one did, so
    ``--json`` can report them with the error."""

    def __init__(self, message: str, *, agents: tuple[AgentReport, ...]) -> None:
        super().__init__(message)
        self.agents = agents
        self.failures = {a.id: a.failure for a in agents if a.failure}

    def to_json(self) -> dict[str, Any]:
        return {
            "error": str(self),
            "answer": None,
            "failures": dict(self.failures),
            "agents": [_agent_json(a) for a in self.agents],
        }
