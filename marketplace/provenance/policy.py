"""The verification policy: ``require`` | ``prefer`` | ``off``, and what each one does.

- ``prefer`` (default): verify whenever provenance exists and refuse when it fails; a tool with
  none installs with a visible "unverified" mark.
- ``require``: refuse anything whose status is not ``verified``.
- ``off``: fetch and check nothing; the lock says ``unverified`` with the reason.

The precedence is ``--verify`` on the command line, then the tool's ``verify`` in mgx.toml,
then ``[policy] verify``. ``"warn"`` (the vocabulary of earlier mgx versions) reads as
``prefer``.
"""

from __future__ import annotations

from marketplace.errors import ConfigError, VerificationError
from marketplace.provenance._model import Outcome

__all__ = ["DEFAULT", "MODES", "effective", "enforce", "parse_mode"]

MODES = ("require", "prefer", "off")
DEFAULT = "prefer"
LEGACY = {"warn": "prefer"}


def parse_mode(value: object, *, where: str) -> tuple[str, str]:
    """(mode, note): a valid mode, and a note when an old spelling was read as a new one."""
    if isinstance(value, str) and value in LEGACY:
        new = LEGACY[value]
        return new, f'{where} = "{value}" is read as "{new}" (rename it; "{value}" is deprecated)'
    if value not in MODES:
        raise ConfigError(f"{where} must be one of {', '.join(MODES)}, got {value!r}")
    assert isinstance(value, str)
    return value, ""


def effective(project_mode: str, tool_mode: str = "", cli_mode: str | None = None) -> str:
    """The mode that applies to one tool (command line, then the tool, then the project)."""
    if cli_mode:
        return parse_mode(cli_mode, where="--verify")[0]
    return tool_mode or project_mode or DEFAULT


def enforce(outcome: Outcome, mode: str, *, what: str) -> None:
    """Under ``require``, refuse anything not verified (failures were refused already)."""
    if mode == "require" and outcome.status != "verified":
        why = f": {outcome.reason}" if outcome.reason else ""
        raise VerificationError(
            f'{what} is {outcome.status}{why}; policy verify = "require" refuses it (use '
            "--verify prefer to install it marked unverified)"
        )
