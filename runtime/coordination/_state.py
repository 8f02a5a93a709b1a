"""The shared board of a coordination run: current answers, votes and each agent's state.

It is plain data with the protocol's rules, and no I/O, so the rules can be read (and
tested) apart from the asyncio loop that drives the agents:

- a new answer replaces its author's previous one, bumps ``version`` and clears every vote
  (votes were cast on an answer set that no longer exists);
- a vote names a current answer holder; a vote cast on an older ``version`` (before the
  latest new answer) is stale;
- an agent that fails is dropped: its answer leaves the ballot and votes for it are cleared;
- coordination is done when every live agent has voted; the most votes win, ties go to the
  earliest-registered agent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

AgentState = Literal["working", "answered", "voted", "failed"]


@dataclass(frozen=True, kw_only=True)
class Answer:
    """One agent's current answer (``revision`` counts its answers, from 1)."""

    agent: str
    content: str
    revision: int


@dataclass(frozen=True, kw_only=True)
class Vote:
    """One vote: ``voter`` chose the answer held by ``choice``."""

    voter: str
    choice: str
    reason: str


@dataclass
class Board:
    """Answers, votes and agent states, keyed by anonymised agent id (``agent1``...)."""

    agents: list[str]
    answers: dict[str, Answer] = field(default_factory=dict)
    votes: dict[str, Vote] = field(default_factory=dict)
    states: dict[str, AgentState] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    answer_counts: Counter[str] = field(default_factory=Counter)
    version: int = 0

    def __post_init__(self) -> None:
        for agent in self.agents:
            self.states.setdefault(agent, "working")

    # -- queries -----------------------------------------------------------------------------

    @property
    def live(self) -> list[str]:
        """Agents that have not failed, in registration order."""
        return [a for a in self.agents if self.states[a] != "failed"]

    @property
    def holders(self) -> list[str]:
        """Agents holding a current answer, in registration order (the vote's choices)."""
        return [a for a in self.agents if a in self.answers]

    def done(self) -> bool:
        """Every live agent has voted (and there is at least one live agent)."""
        live = self.live
        return bool(live) and all(a in self.votes for a in live)

    def tally(self) -> dict[str, int]:
        """Votes per answer holder (zero included), in registration order."""
        counts = Counter(v.choice for v in self.votes.values())
        return {a: counts.get(a, 0) for a in self.holders}

    def leader(self) -> str | None:
        """The holder with the most votes; ties go to the earliest-registered agent."""
        tally = self.tally()
        if not tally:
            return None
        order = {a: i for i, a in enumerate(self.agents)}
        return min(tally, key=lambda a: (-tally[a], order[a]))

    # -- changes -----------------------------------------------------------------------------

    def add_answer(self, agent: str, content: str) -> list[str]:
        """Record ``agent``'s new answer; return the agents whose votes were cleared."""
        self.answer_counts[agent] += 1
        self.answers[agent] = Answer(
            agent=agent, content=content, revision=self.answer_counts[agent]
        )
        self.states[agent] = "answered"
        cleared = list(self.votes)
        self.votes.clear()
        for voter in cleared:
            if self.states[voter] == "voted":
                self.states[voter] = "working"
        self.version += 1
        return cleared

    def add_vote(self, voter: str, choice: str, reason: str) -> None:
        """Record a vote for a current answer holder (checked by the caller)."""
        self.votes[voter] = Vote(voter=voter, choice=choice, reason=reason)
        self.states[voter] = "voted"

    def fail(self, agent: str, why: str) -> list[str]:
        """Drop ``agent``: it is never a candidate again. Returns the voters whose vote for
        it was cleared (they must vote again on the smaller ballot)."""
        self.states[agent] = "failed"
        self.failures[agent] = why
        self.votes.pop(agent, None)
        cleared: list[str] = []
        if self.answers.pop(agent, None) is not None:
            cleared = [v.voter for v in self.votes.values() if v.choice == agent]
            for voter in cleared:
                del self.votes[voter]
                self.states[voter] = "working"
        return cleared
