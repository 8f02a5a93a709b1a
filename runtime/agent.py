"""The agent loop: prepare the turn, ask the model, run its tool calls, resolve.

One ``Agent`` pairs a chat client with (optionally) a ``ToolHub`` and a ``ToolFilter``. A run
is capped by ``max_steps`` model calls and ends with ``MaxStepsExceeded`` (carrying the
partial result) when the model is still calling tools at the cap. A tool failure is never an
exception here: it is text in a ``role: tool`` message that the model reads and reacts to.

The prompt is laid out for vLLM's prefix cache: the system prompt and the tool definitions
are identical for every agent sharing a tool set (tools sorted by name, no per-agent text in
the system message), and anything agent-specific comes after them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from runtime.errors import AgentError
from runtime.prompts import DEFAULT_SYSTEM_PROMPT  # re-exported: the text lives in prompts

if TYPE_CHECKING:
    from runtime.client import Completion
    from runtime.tools import ToolFilter, ToolHub, ToolOutcome

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "Agent",
    "AgentConfig",
    "AgentResult",
    "AgentStep",
    "ChatModel",
    "MaxStepsExceeded",
    "RunUsage",
    "ToolCallRecord",
]

StopReason = Literal["answer", "length", "max_steps"]


class ChatModel(Protocol):
    """What the loop needs from a chat client (``runtime.client.ChatClient`` fits)."""

    async def complete(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stream: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> Completion: ...


@dataclass(frozen=True, kw_only=True)
class RunUsage:
    """Tokens, calls and time spent by a run (sums with ``+``)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    model_time_s: float = 0.0
    tool_time_s: float = 0.0
    wall_s: float = 0.0

    def __add__(self, other: RunUsage) -> RunUsage:
        return RunUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            model_calls=self.model_calls + other.model_calls,
            tool_calls=self.tool_calls + other.tool_calls,
            tool_errors=self.tool_errors + other.tool_errors,
            model_time_s=self.model_time_s + other.model_time_s,
            tool_time_s=self.tool_time_s + other.tool_time_s,
            wall_s=self.wall_s + other.wall_s,
        )

    def with_completion(self, completion: Completion, elapsed: float) -> RunUsage:
        """This usage plus one model call."""
        u = completion.usage
        return replace(
            self,
            prompt_tokens=self.prompt_tokens + (u.prompt_tokens if u else 0),
            completion_tokens=self.completion_tokens + (u.completion_tokens if u else 0),
            total_tokens=self.total_tokens + (u.total_tokens if u else 0),
            model_calls=self.model_calls + 1,
            model_time_s=self.model_time_s + elapsed,
        )


@dataclass(frozen=True, kw_only=True)
class AgentConfig:
    """How one agent behaves. ``system_prompt`` should be shared by agents of one run."""

    name: str = "agent"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    max_steps: int = 10
    tool_filter: ToolFilter | None = None
    tool_timeout: float | None = None  # per call; None: the hub's default
    temperature: float | None = None
    max_tokens: int | None = None
    # Passed on every model call. "required" forces a tool call each step (so the run ends
    # only at max_steps): meant for driving single steps. ``request_extra`` is merged into
    # the request body (vendor parameters such as ``seed``, ``stop``, ``chat_template_kwargs``).
    tool_choice: Any = None
    request_extra: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.max_steps < 1:
            raise AgentError(f"max_steps must be at least 1 (got {self.max_steps})")


@dataclass(frozen=True, kw_only=True)
class ToolCallRecord:
    """One executed tool call: what the model asked and what it got back."""

    id: str
    name: str
    arguments: Any
    result: str
    is_error: bool
    duration_s: float


@dataclass(frozen=True, kw_only=True)
class AgentStep:
    """One model call and the tool calls it made."""

    index: int
    content: str
    tool_calls: tuple[ToolCallRecord, ...]
    finish_reason: str | None
    latency_s: float
    repaired: bool = False


@dataclass(frozen=True, kw_only=True)
class AgentResult:
    """The outcome of ``Agent.run``: the final text, the history, the steps and usage."""

    agent: str
    final_text: str
    stop_reason: StopReason
    messages: tuple[dict[str, Any], ...]
    steps: tuple[AgentStep, ...]
    usage: RunUsage
    tools: tuple[str, ...] = field(default=())


class MaxStepsExceeded(AgentError):
    """The model was still calling tools after ``max_steps`` model calls."""

    def __init__(self, result: AgentResult, max_steps: int) -> None:
        super().__init__(
            f"agent {result.agent!r} reached --max-steps {max_steps} without a final answer "
            "(raise the limit or narrow the task)"
        )
        self.result = result
        self.max_steps = max_steps


class Agent:
    """A model plus tools, running the loop for one task at a time."""

    def __init__(
        self,
        client: ChatModel,
        *,
        hub: ToolHub | None = None,
        config: AgentConfig | None = None,
    ) -> None:
        self.client = client
        self.hub = hub
        self.config = config or AgentConfig()
        # Fixed for the agent's life: the same tool block on every request (prefix cache).
        self._tools: list[dict[str, Any]] = (
            hub.openai_tools(self.config.tool_filter) if hub is not None else []
        )
        self._tool_names = frozenset(t["function"]["name"] for t in self._tools)

    @property
    def tool_names(self) -> list[str]:
        """The exposed names of the tools this agent may call."""
        return sorted(self._tool_names)

    def initial_messages(self, task: str) -> list[dict[str, Any]]:
        """System prompt first (shared across agents), then the task."""
        return [
            {"role": "system", "content": self.config.system_prompt},
            {"role": "user", "content": task},
        ]

    async def run(
        self, task: str | None = None, *, messages: Sequence[dict[str, Any]] | None = None
    ) -> AgentResult:
        """Run until the model answers without calling tools, or ``max_steps`` is hit.

        Pass ``task`` for a fresh conversation, or ``messages`` to continue one (the list is
        copied, never mutated). Raises ``MaxStepsExceeded`` (with ``.result``) at the cap,
        and lets ``LLMError`` from the client through when the model cannot be reached.
        """
        if (task is None) == (messages is None):
            raise AgentError("give either a task or a message history")
        history = (
            self.initial_messages(task) if task is not None else [dict(m) for m in messages or ()]
        )
        started = time.perf_counter()
        usage = RunUsage()
        steps: list[AgentStep] = []
        for index in range(self.config.max_steps):
            step, usage = await self.step(history, index=index, usage=usage)
            steps.append(step)
            if not step.tool_calls:
                reason: StopReason = "length" if step.finish_reason == "length" else "answer"
                return self._result(step.content, reason, history, steps, usage, started)
        result = self._result(
            steps[-1].content if steps else "", "max_steps", history, steps, usage, started
        )
        raise MaxStepsExceeded(result, self.config.max_steps)

    async def step(
        self, history: list[dict[str, Any]], *, index: int = 0, usage: RunUsage | None = None
    ) -> tuple[AgentStep, RunUsage]:
        """One turn: call the model on ``history``, run its tool calls, append everything to
        ``history`` (in place). Returns the step and the updated usage."""
        usage = usage or RunUsage()
        t0 = time.perf_counter()
        completion = await self.client.complete(
            history,
            tools=self._tools or None,
            tool_choice=self.config.tool_choice if self._tools else None,
            temperature=self.config.temperature,
            max_tokens=self.config.max_tokens,
            extra=dict(self.config.request_extra) if self.config.request_extra else None,
        )
        elapsed = time.perf_counter() - t0
        usage = usage.with_completion(completion, elapsed)
        history.append(completion.as_message())
        calls = tuple(completion.tool_calls or ())
        records: tuple[ToolCallRecord, ...] = ()
        if calls:
            t1 = time.perf_counter()
            outcomes = await asyncio.gather(*(self._execute(call) for call in calls))
            tool_time = time.perf_counter() - t1
            records = tuple(
                ToolCallRecord(
                    id=call.id,
                    name=call.name,
                    arguments=call.arguments,
                    result=outcome.text,
                    is_error=outcome.is_error,
                    duration_s=outcome.duration_s,
                )
                for call, outcome in zip(calls, outcomes, strict=True)
            )
            # Tool messages follow the assistant message in the order of its calls.
            history.extend(o.as_message(c.id) for c, o in zip(calls, outcomes, strict=True))
            usage = replace(
                usage,
                tool_calls=usage.tool_calls + len(calls),
                tool_errors=usage.tool_errors + sum(o.is_error for o in outcomes),
                tool_time_s=usage.tool_time_s + tool_time,
            )
        step = AgentStep(
            index=index,
            content=completion.content or "",
            tool_calls=records,
            finish_reason=completion.finish_reason,
            latency_s=elapsed,
            repaired=bool(getattr(completion, "repaired", False)),
        )
        return step, usage

    async def _execute(self, call: Any) -> ToolOutcome:
        from runtime.tools import ToolOutcome

        if self.hub is None or not self._tools:
            return ToolOutcome(
                name=call.name, text="Tool error: no tools are available in this run", is_error=True
            )
        if not isinstance(call.arguments, dict):
            return ToolOutcome(
                name=call.name,
                text="Tool error: the arguments were not a JSON object; call the tool again "
                "with arguments matching its schema",
                is_error=True,
            )
        return await self.hub.call(
            call.name,
            call.arguments,
            timeout=self.config.tool_timeout,
            allowed=self._tool_names,
        )

    def _result(
        self,
        final: str,
        reason: StopReason,
        history: list[dict[str, Any]],
        steps: list[AgentStep],
        usage: RunUsage,
        started: float,
    ) -> AgentResult:
        return AgentResult(
            agent=self.config.name,
            final_text=final,
            stop_reason=reason,
            messages=tuple(history),
            steps=tuple(steps),
            usage=replace(usage, wall_s=time.perf_counter() - started),
            tools=tuple(self.tool_names),
        )
