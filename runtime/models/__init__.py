"""Local models: pull, serve (vLLM), monitor, and resolve a model name to endpoints.

The public surface (everything else is internal to ``runtime.models``)::

    resolve_target(name_or_url, *, settings) -> ModelTarget
    async pick_endpoint(target) -> str              # the endpoint with fewest waiting requests
    ModelTarget(name, model, endpoints, api_key)    # frozen; endpoints end in /v1

Modules: ``families`` (tool-call parser table), ``pull``, ``serve`` (managed vLLM processes),
``state`` (records on disk), ``metrics`` (/metrics), ``gpu`` (fit check), ``endpoints``,
``control`` (LoRA, sleep/wake), ``inventory`` (list/status/stats, external endpoints).
"""

from __future__ import annotations

from runtime.models.endpoints import ModelTarget, pick_endpoint, resolve_target

__all__ = ["ModelTarget", "pick_endpoint", "resolve_target"]
