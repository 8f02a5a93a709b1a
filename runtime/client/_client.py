"""``ChatClient``: one OpenAI-compatible chat endpoint, streamed, retried and repaired."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from runtime.client._assemble import RawAnswer, StreamAssembler, answer_from_response
from runtime.client._history import new_call_id, normalize_history
from runtime.client._repair import Candidate, resolve
from runtime.client._retry import Transient, delay_for, parse_retry_after, retryable_status
from runtime.client._schema import constrained_schema, tool_params
from runtime.client._sse import SSEDecoder
from runtime.client._types import Completion, ToolCall
from runtime.errors import LLMError

log = logging.getLogger("mgx.runtime.client")

_JSON = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


class ChatClient:
    """An async client for one model behind an OpenAI-compatible ``/v1/chat/completions``.

    ``base_url`` is the API root (``http://127.0.0.1:8000/v1``; a bare ``host:port`` gets
    ``/v1`` added). ``max_retries`` counts the extra attempts after a 5xx, 408/425/429, a
    connection error or a stream that stopped early; they back off exponentially from
    ``backoff_s``. Use it as an async context manager, or call ``aclose()``.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 120,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_s: float = 0.5,
    ) -> None:
        if max_retries < 0:
            raise LLMError(f"max_retries must be 0 or more (got {max_retries})")
        if timeout <= 0:
            raise LLMError(f"timeout must be positive (got {timeout})")
        self.url = chat_endpoint(base_url)
        self.model = model
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            # The read timeout bounds the gap between two streamed chunks, not the answer.
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            headers=headers,
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stream: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> Completion:
        """Ask the model for its next message and return it with validated tool calls.

        ``messages`` are normalised (see ``normalize_history``) but never reordered, so a
        shared prompt prefix stays cacheable. ``extra`` is merged into the request body
        last (e.g. ``{"chat_template_kwargs": {...}}``).

        Raises ``LLMError`` when the endpoint keeps failing, refuses the request, stops at
        ``max_tokens`` (``finish_reason == "length"``: truncation, even with complete
        tool calls, since the answer was cut short) or makes no valid call of an offered
        tool even after the constrained retry. One exception: when ``tool_choice`` demands
        a call (``required`` or a named tool), a truncated first answer is an unusable
        call like any other and gets the constrained retry; only its truncation raises.
        """
        started = time.perf_counter()
        body: dict[str, Any] = {
            "model": self.model,
            "messages": normalize_history(messages),
            "stream": stream,
        }
        if stream:
            body["stream_options"] = {"include_usage": True}
        if tools:
            body["tools"] = tools
        if tool_choice is not None:
            body["tool_choice"] = tool_choice
        if temperature is not None:
            body["temperature"] = temperature
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        body.update(extra or {})

        offered = tool_params(tools)
        answer, ttft = await self._send(body)
        wants_call = tool_choice == "required" or isinstance(tool_choice, dict)
        # A demanded call cut off at max_tokens (a weak model under a grammar that leaves
        # the arguments free, say) is retried constrained; any other truncation is an error.
        truncated = bool(offered) and wants_call and answer.finish_reason == "length"
        if not truncated:
            self._check_truncation(answer, max_tokens)
        usage = answer.usage
        res = resolve(answer, offered, tool_choice)
        if truncated or (
            offered
            and tool_choice != "none"
            and (res.problems or (not res.calls and (res.attempted or wants_call)))
        ):
            first = (
                f"the answer hit the token limit ({max_tokens})"
                if truncated
                else res.problems[0]
                if res.problems
                else "no parsable tool call in the answer"
            )
            log.debug("tool call needs a constrained retry: %s", first)
            answer, ttft = await self._send(self._constrained(body, offered, tool_choice))
            self._check_truncation(answer, max_tokens)
            usage = usage + answer.usage
            res = resolve(answer, offered, "auto")
            if res.problems or not res.calls:
                why = res.problems[0] if res.problems else "no tool call in the answer"
                raise LLMError(
                    f"the model made no valid tool call even when constrained: {why} "
                    f"(first attempt: {first})"
                )
            res.repair = "constrained"
        elif res.problems:
            raise LLMError(f"the model made an unusable tool call: {res.problems[0]}")

        calls = _final_calls(res.calls)
        finish = answer.finish_reason or "stop"
        if calls and finish == "stop":
            finish = "tool_calls"  # calls recovered from text come with the server's "stop"
        return Completion(
            content=res.content,
            reasoning=res.reasoning,
            tool_calls=calls,
            finish_reason=finish,
            usage=usage,
            repaired=res.repair is not None,
            repair=res.repair,  # type: ignore[arg-type]  # one of the RepairKind strings
            latency_s=time.perf_counter() - started,
            ttft_s=ttft,
            model=answer.model,
        )

    # -- one request, with retries ------------------------------------------------------

    async def _send(self, body: dict[str, Any]) -> tuple[RawAnswer, float | None]:
        payload = json.dumps(body, ensure_ascii=False).encode()
        attempts = self.max_retries + 1
        last = Transient("no attempt made")
        for attempt in range(attempts):
            try:
                if body.get("stream"):
                    return await self._stream(payload)
                return await self._post(payload), None
            except Transient as exc:
                last = exc
                if attempt + 1 < attempts:
                    delay = delay_for(attempt, base=self.backoff_s, retry_after=exc.retry_after)
                    log.debug("retrying in %.2fs after: %s", delay, exc.reason)
                    await asyncio.sleep(delay)
        raise LLMError(
            f"chat request to {self.url} failed after {attempts} attempt(s): {last.reason}"
        )

    async def _stream(self, payload: bytes) -> tuple[RawAnswer, float | None]:
        t0 = time.perf_counter()
        assembler = StreamAssembler()
        ttft: float | None = None
        done = False
        try:
            async with self._http.stream("POST", self.url, content=payload, headers=_JSON) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    self._raise_status(resp)
                if "text/event-stream" not in resp.headers.get("content-type", ""):
                    await resp.aread()  # the server ignored "stream": read a whole response
                    return self._read_json(resp), None
                decoder = SSEDecoder()
                async for raw in resp.aiter_bytes():
                    for data in decoder.feed(raw):
                        # Keep reading after [DONE] so the connection returns to the pool.
                        if done or data == "[DONE]":
                            done = True
                        elif assembler.feed(_chunk(data)) and ttft is None:
                            ttft = time.perf_counter() - t0
                for data in decoder.close():
                    if data == "[DONE]":
                        done = True
                    elif not done:
                        assembler.feed(_chunk(data))
        except httpx.TransportError as exc:
            if not done:  # a connection lost after [DONE] loses nothing
                raise Transient(_describe(exc)) from exc
        except httpx.HTTPError as exc:
            raise LLMError(f"chat request to {self.url} failed: {_describe(exc)}") from exc
        if not done and assembler.finish_reason is None:
            raise Transient("the stream ended before the answer was complete")
        return assembler.answer(), ttft

    async def _post(self, payload: bytes) -> RawAnswer:
        try:
            resp = await self._http.post(self.url, content=payload, headers=_JSON)
        except httpx.TransportError as exc:
            raise Transient(_describe(exc)) from exc
        except httpx.HTTPError as exc:
            raise LLMError(f"chat request to {self.url} failed: {_describe(exc)}") from exc
        if resp.status_code >= 400:
            self._raise_status(resp)
        return self._read_json(resp)

    def _read_json(self, resp: httpx.Response) -> RawAnswer:
        try:
            body = resp.json()
        except ValueError:
            raise LLMError(
                f"{self.url} answered with something that is not JSON: {_short(resp.text, 80)!r}"
            ) from None
        if isinstance(body, dict) and (body.get("object") == "error" or body.get("error")):
            _raise_body_error(body)
        answer = answer_from_response(body)
        if answer is None:
            raise LLMError(f"{self.url} answered without a choice: {_short(resp.text, 120)!r}")
        return answer

    def _raise_status(self, resp: httpx.Response) -> None:
        message = _error_message(resp)
        if retryable_status(resp.status_code):
            raise Transient(
                f"HTTP {resp.status_code}: {message}",
                retry_after=parse_retry_after(resp.headers.get("retry-after")),
            )
        hint = {
            401: " (check the API key)",
            403: " (check the API key)",
            404: " (check the base URL and the model name)",
        }.get(resp.status_code, "")
        raise LLMError(f"{self.url} answered HTTP {resp.status_code}: {message}{hint}")

    # -- repair ---------------------------------------------------------------------------

    def _constrained(
        self, body: dict[str, Any], offered: dict[str, dict[str, Any]], tool_choice: Any
    ) -> dict[str, Any]:
        """The same request, with the output constrained to one call of an offered tool.

        The tools stay in the request so the template still shows them to the model, but
        ``tool_choice: none`` turns the server's tool parser off: the answer is plain JSON.
        """
        named = _named_choice(tool_choice)
        if named in offered:
            offered = {named: offered[named]}
        retry = dict(body)
        retry["tool_choice"] = "none"
        retry["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "tool_call", "schema": constrained_schema(offered)},
        }
        return retry

    @staticmethod
    def _check_truncation(answer: RawAnswer, max_tokens: int | None) -> None:
        if answer.finish_reason == "length":
            limit = f" ({max_tokens})" if max_tokens else ""
            raise LLMError(
                f"truncated: the answer hit the token limit{limit}; raise max_tokens "
                "(or the server's --max-model-len)"
            )


def chat_endpoint(base_url: str) -> str:
    """``…/chat/completions`` for an API root; a URL with no path gets ``/v1``."""
    base = base_url.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise LLMError(f"not an http(s) URL: {base_url!r} (e.g. http://127.0.0.1:8000/v1)")
    if base.endswith("/chat/completions"):
        base = base[: -len("/chat/completions")]
    try:
        path = httpx.URL(base).path
    except httpx.InvalidURL as exc:
        raise LLMError(f"not a valid URL: {base_url!r} ({exc})") from None
    if path in ("", "/"):
        base += "/v1"
    return base + "/chat/completions"


def _final_calls(candidates: list[Candidate]) -> tuple[ToolCall, ...]:
    seen: set[str] = set()
    calls = []
    for c in candidates:
        call_id = c.id if c.id and c.id not in seen else new_call_id()
        seen.add(call_id)
        calls.append(ToolCall(call_id, c.name, c.arguments))
    return tuple(calls)


def _chunk(data: str) -> dict[str, Any]:
    """One parsed stream chunk; an error event raises (retryable when the code says so)."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise Transient(f"malformed stream chunk {_short(data, 80)!r}") from None
    if not isinstance(chunk, dict):
        return {}
    if chunk.get("error") or chunk.get("object") == "error":
        _raise_body_error(chunk)
    return chunk


def _named_choice(tool_choice: Any) -> str | None:
    if isinstance(tool_choice, dict):
        fn = tool_choice.get("function")
        if isinstance(fn, dict):
            name = fn.get("name")
            return name if isinstance(name, str) else None
    return None


def _raise_body_error(body: dict[str, Any]) -> None:
    nested = body.get("error")
    err: dict[str, Any] = nested if isinstance(nested, dict) else body
    code = err.get("code")
    message = _short(str(err.get("message") or body.get("error") or "unknown error"), 300)
    if isinstance(code, int) and retryable_status(code):
        raise Transient(f"server error {code}: {message}")
    raise LLMError(f"the server reported an error: {message}")


def _error_message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return _short(resp.text, 300) or resp.reason_phrase
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return _short(str(err["message"]), 300)
        for key in ("message", "detail", "error"):
            if body.get(key):
                return _short(str(body[key]), 300)
    return _short(resp.text, 300)


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {_short(text, 200)}"


def _short(text: str, limit: int) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."
