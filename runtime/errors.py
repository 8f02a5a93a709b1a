"""Exceptions raised by the runtime.

MgxRuntimeError          (named so it does not shadow the builtin RuntimeError)
├── ModelServerError     a managed model server failed to start, answer or stop
│   ├── ModelNotFoundError  no model, server or endpoint by that name (bad input: exit 2)
│   └── ModelInputError     a bad model argument: not a URL, not a variable name (exit 2)
├── LLMError             the chat endpoint failed after retries, or answered garbage
├── ToolError            an MCP tool server failed (start, list, call)
├── AgentError           the agent loop cannot go on (e.g. max steps reached)
├── GatewayError         the MCP gateway cannot start or refuses a locked tool
└── TeamConfigError      a team config (YAML or mgx.toml [team]) is invalid or asks for
                         something not supported (exit code 2: bad input)
"""

from __future__ import annotations


class MgxRuntimeError(Exception):
    """Root of every error the runtime raises on purpose."""

    exit_code = 1


class ModelServerError(MgxRuntimeError):
    pass


class ModelNotFoundError(ModelServerError):
    exit_code = 2


class ModelInputError(ModelServerError):
    exit_code = 2


class LLMError(MgxRuntimeError):
    pass


class ToolError(MgxRuntimeError):
    pass


class AgentError(MgxRuntimeError):
    pass


class GatewayError(MgxRuntimeError):
    """``mgx tool serve`` / ``tool run`` cannot start: bad options, refused tool (exit 2)."""

    exit_code = 2


class TeamConfigError(MgxRuntimeError):
    exit_code = 2
