"""Values the tool hub hands out: tool descriptions, call outcomes, server status."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from marketplace.tool_pins import ToolPins

Transport = Literal["stdio", "streamable-http", "sse"]
# "deferred": a server whose start a ToolHub put off (``deferred``) and has not begun yet.
ServerState = Literal["deferred", "starting", "active", "restarting", "failed", "stopped"]


@dataclass(frozen=True, kw_only=True)
class ServerSpec:
    """How to reach one MCP server: a command to run (stdio) or a URL (remote).

    ``env`` holds only the variables the tool was bound to (secrets included): it is passed
    to the process and never written anywhere. ``headers`` likewise for remotes.
    """

    name: str
    transport: Transport = "stdio"
    command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict, repr=False)
    cwd: Path | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    # Pinned tool descriptions (from mgx.lock): a server whose tools/list differs is refused
    # at every start. ``pins_store`` holds the pinned text (for the diff), ``lock_name`` is the
    # tool's name in the lock (for the advice: `mgx tool trust NAME`).
    tool_pins: ToolPins | None = None
    pins_store: Path | None = None
    lock_name: str = ""

    def describe(self) -> str:
        """A one-line description without secrets (for messages and status)."""
        if self.transport == "stdio":
            return " ".join(self.command)
        return f"{self.transport} {self.url}"


@dataclass(frozen=True, kw_only=True)
class HubTool:
    """One MCP tool as the model sees it."""

    name: str  # exposed function name: server__tool, sanitised, <= 64 chars
    server: str
    tool: str  # the tool's own name on its server
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None = None
    # The server's MCP annotations (``readOnlyHint``, ``destructiveHint``, ...), as sent;
    # planning mode reads them to hold side-effecting tools back until the presentation.
    annotations: dict[str, Any] | None = None

    @property
    def read_only(self) -> bool:
        """Whether the server declares this tool free of side effects (``readOnlyHint``).

        MCP's defaults apply: a tool without the hint is assumed to have side effects.
        """
        return bool((self.annotations or {}).get("readOnlyHint", False))

    def openai(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry (a fresh deep copy every time)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": copy.deepcopy(self.input_schema),
            },
        }


@dataclass(frozen=True, kw_only=True)
class ToolOutcome:
    """The result of one tool call, already turned into the text the model will read."""

    name: str
    text: str
    is_error: bool
    structured: Any = None
    duration_s: float = 0.0

    def as_message(self, tool_call_id: str) -> dict[str, Any]:
        """The ``role: tool`` chat message answering ``tool_call_id``."""
        return {"role": "tool", "tool_call_id": tool_call_id, "content": self.text}


@dataclass(frozen=True, kw_only=True)
class ServerStatus:
    """What ``ToolHub.status()`` reports per server."""

    name: str
    state: ServerState
    transport: Transport
    tools: int
    restarts: int
    error: str | None = None
