"""HTTP client for the MCP Registry read API (``/v0.1``, falling back to ``/v0``).

Faults are handled here, once: 5xx answers, timeouts and connection errors are retried with
exponential backoff; a page that is not valid JSON is a :class:`RegistryError` for that page;
a server document that violates the schema is skipped, logged and counted in the page, so one
bad entry never aborts a sync. httpx exceptions never leave this module.

The bearer token is passed in by the caller (read from an environment variable) and only
ever placed in the ``Authorization`` header; it is never logged or stored.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from marketplace.errors import NotFoundError, RegistryError
from registry_cache.errors import ServerJsonError
from registry_cache.serverjson import ServerVersion, parse_server

log = logging.getLogger("mgx.registry")

API_VERSIONS = ("/v0.1", "/v0")
USER_AGENT = "mgx (+https://github.com/modelcontextprotocol/registry API client)"
PAGE_LIMIT = 100  # the official registry's maximum


class RegistryHTTPError(RegistryError):
    """The registry answered with an HTTP error status (kept in ``status``)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, kw_only=True)
class SkippedServer:
    """A server document in a page that failed validation."""

    name: str | None
    version: str | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class Page:
    servers: tuple[ServerVersion, ...]
    skipped: tuple[SkippedServer, ...]
    next_cursor: str | None


def quote_segment(value: str) -> str:
    """URL-encode a name or version as one path segment (``/`` becomes ``%2F``)."""
    return quote(value, safe="")


class RegistryClient:
    """A client of one registry at ``base_url`` (e.g. ``https://registry.modelcontextprotocol.io``).

    ``label`` names the registry in messages. ``timeout`` is per request, ``retries`` the
    number of extra attempts after the first. Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        label: str | None = None,
        token: str | None = None,
        timeout: float = 15.0,
        retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.label = label or self.base_url
        self.retries = max(0, retries)
        self.backoff = backoff
        self._api: str | None = None  # the API version prefix that answered, once known
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            follow_redirects=True,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ---------------------------------------------------------------------------

    def _send(self, path: str, params: Mapping[str, Any] | None) -> httpx.Response:
        """One GET with retries on 5xx, 429, timeouts and connection errors."""
        attempt = 0
        while True:
            try:
                response = self._http.get(path, params=params)
            except httpx.TimeoutException as exc:
                problem = f"timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                problem = f"unreachable ({_reason(exc)})"
            else:
                if response.status_code < 500 and response.status_code != 429:
                    return response
                problem = f"HTTP {response.status_code}"
                response.close()
            if attempt >= self.retries:
                attempts = f" after {attempt + 1} attempts" if attempt else ""
                raise RegistryError(
                    f"registry {self.label!r} at {self.base_url}: {problem}{attempts}"
                )
            delay = self.backoff * (2**attempt) * (0.75 + random.random() / 2)
            log.info("registry %s: %s; retrying in %.2fs", self.label, problem, delay)
            time.sleep(delay)
            attempt += 1

    def _get(self, path: str, params: Mapping[str, Any] | None = None, *, what: str) -> Any:
        """GET ``path`` under the API version, falling back to ``/v0`` on a 404 from ``/v0.1``.

        Returns the decoded JSON; raises NotFoundError for a 404 on every version.
        """
        prefixes = (self._api,) if self._api else API_VERSIONS
        response = None
        for prefix in prefixes:
            response = self._send(prefix + path, params)
            if response.status_code != 404:
                self._api = prefix
                break
        assert response is not None
        if response.status_code == 404:
            raise NotFoundError(f"{what} not found in registry {self.label!r}")
        if response.status_code in (401, 403):
            raise RegistryHTTPError(
                f"registry {self.label!r} refused access (HTTP {response.status_code}): "
                "check the token (mgx registry add NAME URL --token-env VAR)",
                status=response.status_code,
            )
        if response.status_code >= 400:
            raise RegistryHTTPError(
                f"registry {self.label!r} answered HTTP {response.status_code} for {what}: "
                f"{_error_text(response)}",
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise RegistryError(
                f"registry {self.label!r} sent invalid JSON for {what} "
                f"({len(response.content)} bytes): {exc}"
            ) from exc

    # --- API ---------------------------------------------------------------------------------

    def list_page(
        self,
        *,
        cursor: str | None = None,
        limit: int = PAGE_LIMIT,
        updated_since: str | None = None,
        search: str | None = None,
        version: str | None = None,
        include_deleted: bool | None = None,
    ) -> Page:
        """One page of ``GET /servers``."""
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        if updated_since:
            params["updated_since"] = updated_since
        if search:
            params["search"] = search
        if version:
            params["version"] = version
        if include_deleted is not None:
            params["include_deleted"] = "true" if include_deleted else "false"
        doc = self._get("/servers", params, what="server list")
        if not isinstance(doc, Mapping) or not isinstance(doc.get("servers"), list):
            raise RegistryError(
                f"registry {self.label!r} sent a server list without a 'servers' array"
            )
        servers, skipped = _parse_items(doc["servers"], self.label)
        found = doc.get("metadata")
        metadata: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        # ``nextCursor`` today; ``next_cursor`` in the registry's first API version.
        next_cursor = metadata.get("nextCursor") or metadata.get("next_cursor") or None
        if next_cursor is not None and not isinstance(next_cursor, str):
            raise RegistryError(f"registry {self.label!r} sent a non-string nextCursor")
        return Page(servers=servers, skipped=skipped, next_cursor=next_cursor)

    def list_servers(
        self,
        *,
        updated_since: str | None = None,
        search: str | None = None,
        version: str | None = None,
        include_deleted: bool | None = None,
        limit: int = PAGE_LIMIT,
    ) -> Iterator[Page]:
        """Every page of ``GET /servers``, following cursors until the last one."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = self.list_page(
                cursor=cursor,
                limit=limit,
                updated_since=updated_since,
                search=search,
                version=version,
                include_deleted=include_deleted,
            )
            yield page
            if not page.next_cursor:
                return
            if page.next_cursor in seen:  # a registry bug would otherwise loop forever
                raise RegistryError(f"registry {self.label!r} repeated cursor {page.next_cursor!r}")
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    def versions(self, name: str) -> list[ServerVersion]:
        """Every version of ``name`` (as the registry orders them: newest first)."""
        doc = self._get(f"/servers/{quote_segment(name)}/versions", what=f"server {name!r}")
        if not isinstance(doc, Mapping) or not isinstance(doc.get("servers"), list):
            raise RegistryError(f"registry {self.label!r} sent a version list without 'servers'")
        servers, _ = _parse_items(doc["servers"], self.label)
        return list(servers)

    def get(self, name: str, version: str = "latest") -> ServerVersion:
        """One version of ``name`` (``latest`` = the registry's current one)."""
        doc = self._get(
            f"/servers/{quote_segment(name)}/versions/{quote_segment(version)}",
            what=f"server {name!r} version {version!r}",
        )
        try:
            return parse_server(doc)
        except ServerJsonError as exc:
            raise RegistryError(
                f"registry {self.label!r} sent an invalid server.json: {exc}"
            ) from exc

    def health(self) -> Mapping[str, Any]:
        response = self._send("/health", None)
        if response.status_code != 200:
            raise RegistryError(
                f"registry {self.label!r} health check: HTTP {response.status_code}"
            )
        try:
            doc = response.json()
        except ValueError as exc:
            raise RegistryError(f"registry {self.label!r} health check: invalid JSON") from exc
        if not isinstance(doc, Mapping):
            raise RegistryError(f"registry {self.label!r} health check: not a JSON object")
        return doc


def _parse_items(
    items: list[Any], label: str
) -> tuple[tuple[ServerVersion, ...], tuple[SkippedServer, ...]]:
    servers, skipped = [], []
    for item in items:
        try:
            # Registries validate descriptions on publish; a mirror of older data may carry
            # longer ones, which are harmless to a client.
            servers.append(parse_server(item, max_description=None))
        except ServerJsonError as exc:
            server = item.get("server") if isinstance(item, Mapping) else None
            server = server if isinstance(server, Mapping) else {}
            name, version = server.get("name"), server.get("version")
            skipped.append(
                SkippedServer(
                    name=name if isinstance(name, str) else None,
                    version=version if isinstance(version, str) else None,
                    reason=str(exc),
                )
            )
            log.warning("registry %s: skipped invalid server %s %s: %s", label, name, version, exc)
    return tuple(servers), tuple(skipped)


def _reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _error_text(response: httpx.Response) -> str:
    try:
        doc = response.json()
        if isinstance(doc, Mapping):
            for key in ("error", "detail", "title", "message"):
                value = doc.get(key)
                if isinstance(value, str):
                    return value
    except ValueError:
        pass
    return response.text[:200] or response.reason_phrase
