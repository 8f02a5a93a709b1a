"""HTTP for provenance fetches: one client factory and "absent is None" JSON reads."""

from __future__ import annotations

from typing import Any

from marketplace.errors import VerificationError

__all__ = ["client", "get_optional_json"]


def client() -> Any:
    from marketplace.installers._io import http_client

    return http_client()


def get_optional_json(client: Any, url: str, *, accept: str, what: str) -> Any:
    """The JSON at ``url``; None on 404 (nothing published). Other failures refuse.

    A provenance endpoint that cannot be reached is not the same as one that has nothing: an
    attacker who can block it must not turn a signed package into an "unsigned" one silently.
    """
    import httpx

    try:
        response = client.get(url, headers={"Accept": accept})
    except httpx.HTTPError as exc:
        raise VerificationError(
            f"{what}: cannot fetch provenance ({type(exc).__name__}: {exc}); retry, or run "
            "with --verify off to install without checking it"
        ) from exc
    if response.status_code in (404, 410):
        return None
    if response.status_code != 200:
        raise VerificationError(
            f"{what}: provenance endpoint answered {response.status_code} for {url}; retry, "
            "or run with --verify off to install without checking it"
        )
    try:
        return response.json()
    except ValueError as exc:
        raise VerificationError(f"{what}: {url} did not answer JSON") from exc
