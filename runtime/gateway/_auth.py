"""Bearer-token check in front of the gateway's streamable-HTTP endpoint (plain ASGI)."""

from __future__ import annotations

import hmac
import json
from typing import Any

Scope = dict[str, Any]


class BearerGuard:
    """Answer 401 to any HTTP request without ``Authorization: Bearer <token>``.

    The comparison is constant-time; the token is never logged or echoed.
    """

    def __init__(self, app: Any, token: str) -> None:
        self._app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and not self._authorised(scope):
            body = json.dumps({"error": "unauthorized", "detail": "bearer token required"})
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="mgx"'),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body.encode()})
            return
        await self._app(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        for name, value in scope.get("headers") or ():
            if name.lower() == b"authorization":
                scheme, _, token = bytes(value).partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    token.strip(), self._token
                )
        return False
