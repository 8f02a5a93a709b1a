"""Runtime changes to a running server: LoRA adapters, sleep and wake.

vLLM exposes these as HTTP endpoints that exist only when the server was started for them:
``/v1/load_lora_adapter`` and ``/v1/unload_lora_adapter`` need ``--enable-lora`` and
``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`` (``mgx model serve --enable-lora`` sets both);
``/sleep`` and ``/wake_up`` need ``--enable-sleep-mode`` and ``VLLM_SERVER_DEV_MODE=1``
(``mgx model serve --enable-sleep-mode``), and a platform that supports sleeping (CUDA).
A server that lacks them answers 404; that becomes a message saying which flag is missing.
Every change applies to all endpoints of the model, so replicas stay alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marketplace.settings import Settings
from runtime.errors import ModelServerError
from runtime.models.endpoints import resolve_target

if TYPE_CHECKING:
    import httpx

_LORA_HINT = (
    "the server does not allow runtime LoRA loading: serve it with `mgx model serve "
    "--enable-lora` (which sets VLLM_ALLOW_RUNTIME_LORA_UPDATING=True)"
)
_SLEEP_HINT = (
    "the server does not support sleep mode: serve it with `mgx model serve --enable-sleep-mode`"
    " (which sets VLLM_SERVER_DEV_MODE=1) on a platform that supports it (CUDA GPUs)"
)


@dataclass(frozen=True, kw_only=True)
class ControlResult:
    name: str
    action: str
    endpoints: tuple[str, ...]
    detail: str = ""


async def load_lora(name: str, adapter: str, path: str, *, settings: Settings) -> ControlResult:
    """Load LoRA ``adapter`` from ``path`` (a local dir or Hub id) into every endpoint of name."""
    body = {"lora_name": adapter, "lora_path": path}
    return await _post_all(name, "/v1/load_lora_adapter", body, "lora load", _LORA_HINT, settings)


async def unload_lora(name: str, adapter: str, *, settings: Settings) -> ControlResult:
    """Unload LoRA ``adapter`` from every endpoint of ``name``."""
    body = {"lora_name": adapter}
    return await _post_all(
        name, "/v1/unload_lora_adapter", body, "lora unload", _LORA_HINT, settings
    )


async def sleep(name: str, *, level: int = 1, settings: Settings) -> ControlResult:
    """Put ``name`` to sleep: level 1 offloads weights to CPU, level 2 discards them."""
    if level not in (1, 2):
        raise ModelServerError("sleep level must be 1 (offload weights) or 2 (discard weights)")
    return await _post_all(name, f"/sleep?level={level}", None, "sleep", _SLEEP_HINT, settings)


async def wake(name: str, *, settings: Settings) -> ControlResult:
    """Wake ``name`` up after :func:`sleep`."""
    return await _post_all(name, "/wake_up", None, "wake", _SLEEP_HINT, settings)


async def _post_all(
    name: str, path: str, body: dict[str, Any] | None, action: str, hint: str, settings: Settings
) -> ControlResult:
    import httpx

    target = resolve_target(name, settings=settings)
    headers = {"Authorization": f"Bearer {target.api_key}"} if target.api_key else {}
    details = []
    async with httpx.AsyncClient(timeout=120.0, headers=headers) as client:
        for base in target.endpoints:
            url = f"{base.removesuffix('/v1')}{path}"  # paths are relative to the server root
            try:
                response = await client.post(url, json=body) if body else await client.post(url)
            except httpx.HTTPError as exc:
                reason = str(exc) or type(exc).__name__
                raise ModelServerError(f"{action} on {base} failed: {reason}") from exc
            if response.status_code in (404, 405):
                raise ModelServerError(f"{action} on {base}: {hint}")
            if response.status_code >= 400:
                raise ModelServerError(
                    f"{action} on {base} refused (HTTP {response.status_code}): "
                    f"{_server_message(response)}"
                )
            details.append(response.text.strip()[:200])
    detail = "; ".join(d for d in details if d)
    return ControlResult(name=name, action=action, endpoints=target.endpoints, detail=detail)


def _server_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip().splitlines()[0][:300] if response.text.strip() else "no body"
    if isinstance(data, dict):
        error = data.get("error") or data.get("detail") or data.get("message") or data
        if isinstance(error, dict):
            error = error.get("message") or error
        return str(error)[:300]
    return str(data)[:300]
