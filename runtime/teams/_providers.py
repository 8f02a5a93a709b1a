"""Backend types: which ones speak the OpenAI chat API, their default URL and key variable.

Every type here maps onto the runtime's OpenAI-compatible client. ``claude`` and ``gemini``
go through their providers' OpenAI-compatible endpoints. Types that are whole agents rather
than chat endpoints (``claude_code``) cannot be driven through a chat API and are refused by
name. ``chatcompletion`` needs a ``base_url``; its key variable follows the provider of
that URL, as MassGen does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from runtime.errors import TeamConfigError


@dataclass(frozen=True)
class Provider:
    base_url: str | None  # None: the config (or an env var) must give it
    key_vars: tuple[str, ...]  # tried in order; empty: no key needed (local servers)
    key_required: bool = True
    base_url_var: str | None = None  # an env var that may hold the base URL


PROVIDERS: Mapping[str, Provider] = {
    "openai": Provider("https://api.openai.com/v1", ("OPENAI_API_KEY",)),
    "azure_openai": Provider(None, ("AZURE_OPENAI_API_KEY",), base_url_var="AZURE_OPENAI_ENDPOINT"),
    "claude": Provider("https://api.anthropic.com/v1", ("ANTHROPIC_API_KEY",)),
    "gemini": Provider(
        "https://generativelanguage.googleapis.com/v1beta/openai",
        ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    ),
    "grok": Provider("https://api.x.ai/v1", ("XAI_API_KEY",)),
    "zai": Provider("https://api.z.ai/api/paas/v4", ("ZAI_API_KEY",)),
    "chatcompletion": Provider(None, ("OPENAI_API_KEY",)),
    "lmstudio": Provider("http://localhost:1234/v1", ("LMSTUDIO_API_KEY",), key_required=False),
    "vllm": Provider("http://localhost:8000/v1", ("VLLM_API_KEY",), key_required=False),
    "sglang": Provider("http://localhost:30000/v1", ("SGLANG_API_KEY",), key_required=False),
}

# Agents that are not chat endpoints: they run their own tool loop and cannot take part
# through the chat API.
NOT_CHAT = {"claude_code": "Claude Code is an agent SDK, not a chat completions endpoint"}

# chatcompletion: the key variable of the provider behind base_url (MassGen's list).
_HOST_KEYS = {
    "api.cerebras.ai": "CEREBRAS_API_KEY",
    "api.together.xyz": "TOGETHER_API_KEY",
    "api.fireworks.ai": "FIREWORKS_API_KEY",
    "api.groq.com": "GROQ_API_KEY",
    "api.studio.nebius.ai": "NEBIUS_API_KEY",
    "openrouter.ai": "OPENROUTER_API_KEY",
    "api.moonshot.cn": "MOONSHOT_API_KEY",
    "api.moonshot.ai": "MOONSHOT_API_KEY",
}


def backend_problem(kind: str) -> str | None:
    """Why a backend type cannot run, or None when it can."""
    if kind in PROVIDERS:
        return None
    if kind in NOT_CHAT:
        return f"backend type {kind!r} is not supported: {NOT_CHAT[kind]}"
    known = ", ".join(sorted(PROVIDERS))
    return f"backend type {kind!r} is not supported (OpenAI-compatible types: {known})"


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str | None


def resolve_endpoint(
    agent_id: str,
    kind: str,
    *,
    base_url: str | None,
    api_key: str | None,
    override_url: str | None = None,
    override_key_var: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Endpoint:
    """The URL and key one agent talks to. ``override_url`` (``--base-url``) replaces every
    agent's endpoint; its key then comes only from ``override_key_var`` (``--api-key-env``),
    never from a cloud provider's variable (a local server must not receive a cloud key)."""
    env = os.environ if environ is None else environ
    provider = PROVIDERS[kind]
    if override_url:
        key = None
        if override_key_var:
            key = env.get(override_key_var) or None
            if key is None:
                raise TeamConfigError(f"--api-key-env {override_key_var} is not set")
        return Endpoint(override_url, key)
    url = base_url or (env.get(provider.base_url_var) if provider.base_url_var else None)
    url = url or provider.base_url
    if not url:
        where = f" or set {provider.base_url_var}" if provider.base_url_var else ""
        raise TeamConfigError(
            f"agent {agent_id!r}: backend type {kind!r} needs base_url{where} "
            "(or run with --base-url URL)"
        )
    if kind == "azure_openai" and "/openai/" not in url:
        url = url.rstrip("/") + "/openai/v1"  # Azure's OpenAI-compatible v1 API
    if override_key_var:
        key_vars: tuple[str, ...] = (override_key_var,)
    elif kind == "chatcompletion":
        host = urlsplit(url).hostname or ""
        key_vars = (_HOST_KEYS[host],) if host in _HOST_KEYS else provider.key_vars
    else:
        key_vars = provider.key_vars
    key = expand_value(api_key, env, f"agent {agent_id!r} api_key") if api_key else None
    key = key or next((env[v] for v in key_vars if env.get(v)), None)
    local = (urlsplit(url).hostname or "") in ("localhost", "127.0.0.1", "::1")
    if key is None and provider.key_required and not local:
        raise TeamConfigError(
            f"agent {agent_id!r} (backend {kind}) needs an API key: set {' or '.join(key_vars)}"
            " (or give --base-url URL for a local OpenAI-compatible server)"
        )
    return Endpoint(url, key)


def expand_value(value: str, environ: Mapping[str, str], what: str) -> str:
    """``${VAR}`` references in ``value`` replaced from ``environ``; an unset one is an error
    naming the variable (never the value)."""
    import re

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise TeamConfigError(f"{what} refers to ${{{name}}}, which is not set")
        return environ[name]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, value)
