"""MassGen's coordination protocol: agents answer, see each other's answers, vote, present.

Public surface::

    coordinate            run a team on a task (async) -> CoordinationResult
    Member                one agent: client, model, system message, tool filter, sampling
    CoordinationOptions   limits (steps, answers, timeouts, token budgets) and planning mode
    CoordinationResult    answer, winner, votes, rounds, restarts, guard, failures, usage
    CoordinationEvent     what happened, for a live view or a transcript
    AgentReport           one agent's state, counts and usage in the result
    CoordinationFailed    the AgentError raised when no agent answered (with the reports)
    Transcript            a JSONL transcript sink for ``on_event`` (secrets redacted)
    FileHooks             what ``coordinate(files=...)`` calls for a run's workspaces

Internals, one job each: ``_state`` (the board and its rules), ``_workflow`` (the
``new_answer``/``vote`` tools), ``_round`` (one agent's round), ``_loop`` (the
orchestrator), ``_planning`` (tools withheld in planning mode), ``_present`` (the
presentation and the autonomy guard). Prompt text lives in ``runtime.prompts``.
"""

from __future__ import annotations

from runtime.coordination._files import FileHooks
from runtime.coordination._loop import coordinate
from runtime.coordination._model import (
    AgentReport,
    CoordinationEvent,
    CoordinationFailed,
    CoordinationOptions,
    CoordinationResult,
    EventSink,
    Member,
)
from runtime.coordination._state import Answer, Vote
from runtime.coordination._transcript import Transcript

__all__ = [
    "AgentReport",
    "Answer",
    "CoordinationFailed",
    "CoordinationEvent",
    "CoordinationOptions",
    "CoordinationResult",
    "EventSink",
    "FileHooks",
    "Member",
    "Transcript",
    "Vote",
    "coordinate",
]
