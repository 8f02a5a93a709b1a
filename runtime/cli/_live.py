"""The live terminal view of a coordination run: one panel per agent (rich, stderr, TTY only).

Each panel shows the agent's state (working / answered / voted / failed), the tail of what
it last wrote, its last tool call, and its answer or vote; the presentation and the final
answer follow. It is fed ``CoordinationEvent``s and redraws a few times a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

    from runtime.coordination import CoordinationEvent

_TAIL = 240


@dataclass
class _Panel:
    state: str = "working"
    text: str = ""
    tool: str = ""
    result: str = ""
    rounds: int = 0


@dataclass
class LiveView:
    """Collects events into panels; ``render()`` draws them (also used without a TTY in tests)."""

    enabled: bool = True
    panels: dict[str, _Panel] = field(default_factory=dict)
    status: str = "coordinating"
    _live: Live | None = None

    def __call__(self, event: CoordinationEvent) -> None:
        if not event.agent:
            return
        panel = self.panels.setdefault(event.agent, _Panel())
        kind = event.kind
        if kind == "round":
            panel.rounds += 1
            if panel.state not in ("answered",):
                panel.state = "working"
        elif kind == "message" and event.data and event.data.get("role") == "assistant":
            content = event.data.get("content") or ""
            calls = event.data.get("tool_calls") or []
            if content:
                panel.text = str(content)[-_TAIL:]
            if calls:
                panel.tool = ", ".join(_call_name(c) for c in calls)
        elif kind == "tool":
            panel.tool = event.text
        elif kind == "answer":
            panel.state, panel.result = "answered", f"answer: {event.text[:_TAIL]}"
        elif kind == "vote":
            panel.state, panel.result = "voted", f"vote: {event.text}"
        elif kind == "failed":
            panel.state, panel.result = "failed", event.text
        elif kind == "restart":
            panel.state = "working" if panel.state != "answered" else panel.state
        elif kind == "present":
            self.status = f"{event.agent} presents (winner {event.text})"
        elif kind == "final":
            self.status = "final answer ready"
        if self._live is not None:
            self._live.update(self.render())

    def render(self) -> RenderableType:
        from rich.columns import Columns
        from rich.console import Group
        from rich.panel import Panel
        from rich.text import Text

        colours = {"working": "yellow", "answered": "cyan", "voted": "green", "failed": "red"}
        boxes = []
        for agent, p in self.panels.items():
            body = Text()
            body.append(f"{p.state}", style=f"bold {colours.get(p.state, 'white')}")
            body.append(f" · round {p.rounds}\n")
            if p.tool:
                body.append(f"tool: {p.tool}\n", style="magenta")
            if p.text:
                body.append(p.text.strip() + "\n", style="dim")
            if p.result:
                body.append(p.result)
            boxes.append(Panel(body, title=agent, width=48))
        return Group(Columns(boxes), Text(self.status, style="bold"))

    def __enter__(self) -> LiveView:
        if self.enabled:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                self.render(), console=Console(stderr=True), refresh_per_second=8, transient=True
            )
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None


def _call_name(call: Any) -> str:
    if isinstance(call, dict):
        fn = call.get("function")
        if isinstance(fn, dict):
            return str(fn.get("name", "?"))
    return "?"
