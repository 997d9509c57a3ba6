"""The only module that speaks HTTP to a gateway.

It takes an `httpx.AsyncClient` so the process shares one pooled client and tests hand
in a transport. Every failure, whatever its cause, is raised as one `GatewayError`.
"""

import json
import math
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx
from httpx_sse import EventSource, SSEError

from . import stream as events

NEON_CHAT_PATH = "/ai-gateway/mlflow/v1"
NEON_DIALECT_PATHS = {
    "chat_completions": "/ai-gateway/mlflow/v1",
    "openai_responses": "/ai-gateway/openai/v1",
    "anthropic_messages": "/ai-gateway/anthropic/v1",
}
RATE_LIMIT_HEADERS = (
    "retry-after",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
)
REQUEST_ID_HEADERS = ("x-request-id", "x-databricks-request-id", "request-id")
# Gemini models on Neon reject `stream_options` (gateway-spec.md section 5).
NO_STREAM_OPTIONS_PREFIXES = ("gemini-", "databricks-gemini-")


class GatewayError(Exception):
    """A failed gateway call: HTTP status (None when there was no response), code, message."""

    def __init__(self, status, code, message, retry_after=None, rate_limit=None, request_id=""):
        super().__init__(message)
        self.status = status
        self.code = code or ""
        self.message = message
        self.retry_after = retry_after
        self.rate_limit = rate_limit or {}
        self.request_id = request_id

    def __repr__(self):
        return f"GatewayError(status={self.status!r}, code={self.code!r}, message={self.message!r})"


@dataclass(slots=True)
class ResponseInfo:
    """First event of every stream: what the response headers said."""

    status: int
    request_id: str = ""
    rate_limit: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GatewayURLs:
    root: str  # the base with the dialect path removed, for /v1/models on Neon
    chat_completions: str
    openai_responses: str
    anthropic_messages: str
    models: str


def resolve_urls(base_url: str) -> GatewayURLs:
    """Where each dialect lives for a base URL as users paste it.

    A bare host (Neon's NEON_AI_GATEWAY_BASE_URL) or one ending in a Neon dialect path
    gets Neon's long paths; any other URL whose path ends in /v1 is an OpenAI-compatible
    gateway (LiteLLM, vLLM, OpenAI) and is used as it is.
    """
    parts = urlsplit(base_url.strip())
    path = parts.path.rstrip("/")
    for dialect_path in NEON_DIALECT_PATHS.values():
        if path.endswith(dialect_path):
            path = path[: -len(dialect_path)]
            break
    else:
        if path.endswith("/v1"):
            base = urlunsplit((parts.scheme, parts.netloc, path, "", "")).rstrip("/")
            return GatewayURLs(base, base, base, base, f"{base}/models")
    root = urlunsplit((parts.scheme, parts.netloc, path, "", "")).rstrip("/")
    return GatewayURLs(
        root=root,
        chat_completions=root + NEON_DIALECT_PATHS["chat_completions"],
        openai_responses=root + NEON_DIALECT_PATHS["openai_responses"],
        anthropic_messages=root + NEON_DIALECT_PATHS["anthropic_messages"],
        # The model list exists only as GET /v1/models, with no /ai-gateway form.
        models=root + "/v1/models",
    )


def make_client(*, connect_timeout=10.0, read_timeout=120.0, max_connections=400, transport=None):
    """The pooled client a process shares. Redirects stay off: a token never follows one."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=30.0, pool=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        follow_redirects=False,
        transport=transport,
        headers={"User-Agent": "neon-ai-playground/1.0"},
    )


def _headers(token):
    # No token sends no header (an empty "Bearer " is an illegal header value): the gateway's 401 explains it.
    token = (token or "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def _rate_limit(headers):
    return {name: headers[name] for name in RATE_LIMIT_HEADERS if name in headers}


def _request_id(headers):
    for name in REQUEST_ID_HEADERS:
        if name in headers:
            return headers[name]
    return ""


def parse_retry_after(value):
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare from this gateway; treat as unknown
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _message_from(payload, depth=0):
    """(code, message) from any of the gateway's error envelopes (gateway-spec.md 11.1)."""
    if depth > 4:
        return "", ""
    if isinstance(payload, str):
        text = payload.strip()
        if text.startswith("{"):
            try:
                return _message_from(json.loads(text), depth + 1)
            except ValueError:
                pass
        return "", text
    if not isinstance(payload, dict):
        return "", ""
    code = ""
    error = payload.get("error")
    if isinstance(error, dict):
        code = str(error.get("code") or error.get("type") or "")
        inner_code, message = _message_from(error.get("message", ""), depth + 1)
        return inner_code or code, message
    if isinstance(error, str) and error:
        return str(payload.get("error_code") or payload.get("code") or ""), error
    code = str(payload.get("error_code") or payload.get("code") or payload.get("type") or "")
    inner_code, message = _message_from(payload.get("message", ""), depth + 1)
    if inner_code and not code:
        code = inner_code
    return code, message


def error_from_body(status, body: bytes, headers=None):
    headers = headers or {}
    rate_limit = _rate_limit(headers)
    try:
        payload = json.loads(body.decode("utf-8", "replace")) if body else None
    except ValueError:
        payload = body.decode("utf-8", "replace").strip()[:500]
    code, message = _message_from(payload) if payload is not None else ("", "")
    if not message:
        message = f"The gateway answered HTTP {status} with no error message."
    return GatewayError(
        status,
        code or f"http_{status}",
        message,
        retry_after=parse_retry_after(headers.get("retry-after")),
        rate_limit=rate_limit,
        request_id=_request_id(headers),
    )


def _transport_error(exc):
    if isinstance(exc, httpx.ConnectTimeout):
        return GatewayError(None, "connect_timeout", "Timed out connecting to the gateway.")
    if isinstance(exc, httpx.ReadTimeout):
        return GatewayError(None, "read_timeout", "The gateway stopped sending data (read timeout).")
    if isinstance(exc, httpx.TimeoutException):
        return GatewayError(None, "timeout", "The request to the gateway timed out.")
    if isinstance(exc, httpx.ConnectError):
        return GatewayError(
            None, "connection_error", "Could not connect to the gateway (connection refused or DNS failure)."
        )
    if isinstance(exc, httpx.RemoteProtocolError):
        return GatewayError(None, "stream_cut", "The gateway closed the connection before the answer was complete.")
    return GatewayError(None, "network_error", f"Network error talking to the gateway ({type(exc).__name__}).")


def chat_body(model, messages, params, *, include_usage):
    body = {"model": model, "messages": messages, "stream": True}
    body.update(params)
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    return body


def accepts_stream_options(model: str) -> bool:
    return not model.startswith(NO_STREAM_OPTIONS_PREFIXES)


async def stream_chat(client: httpx.AsyncClient, *, base_url, token, model, messages, params=None, include_usage=None):
    """Stream one chat completion: yields ResponseInfo, then TextDelta / ReasoningDelta /
    Usage / Finish events. Raises GatewayError on any failure.

    Cancelling the task iterating this generator closes the upstream response.
    """
    if include_usage is None:
        include_usage = accepts_stream_options(model)
    url = resolve_urls(base_url).chat_completions + "/chat/completions"
    body = chat_body(model, messages, params or {}, include_usage=include_usage)
    async for event in _stream(client, url, token, body, events.chat_events):
        yield event


async def _stream(client, url, token, body, parse):
    headers = _headers(token)
    headers["Accept"] = "text/event-stream"
    done = False
    finished = False
    try:
        # follow_redirects=False even if the caller's client follows: the token must not travel on.
        async with client.stream("POST", url, json=body, headers=headers, follow_redirects=False) as response:
            if response.status_code >= 400:
                raise error_from_body(response.status_code, await response.aread(), response.headers)
            if 300 <= response.status_code < 400:
                raise GatewayError(
                    response.status_code, "redirect", "The gateway answered with a redirect; check the base URL."
                )
            yield ResponseInfo(response.status_code, _request_id(response.headers), _rate_limit(response.headers))
            source = EventSource(response)
            async for sse in source.aiter_sse():
                data = sse.data
                if data == "[DONE]":
                    done = True
                    break
                if sse.event == "error":
                    code, message = _message_from(data)
                    raise GatewayError(
                        response.status_code,
                        code or "stream_error",
                        message or "The gateway reported an error mid-stream.",
                    )
                if not data:
                    continue
                try:
                    payload = json.loads(data)
                except ValueError:
                    raise GatewayError(
                        response.status_code, "malformed_sse", "The gateway sent a malformed event (invalid JSON)."
                    ) from None
                try:
                    for event in parse(payload):
                        if isinstance(event, events.Finish):
                            finished = True
                        yield event
                except events.StreamPayloadError as exc:
                    code, message = _message_from(exc.payload)
                    raise GatewayError(
                        response.status_code,
                        code or "stream_error",
                        message or "The gateway reported an error mid-stream.",
                    ) from None
    except SSEError:
        raise GatewayError(None, "not_a_stream", "The gateway did not answer with an event stream.") from None
    except httpx.HTTPError as exc:
        raise _transport_error(exc) from None
    if not done and not finished:
        raise GatewayError(None, "stream_cut", "The gateway closed the stream before the answer was complete.")


async def list_models(client: httpx.AsyncClient, *, base_url, token):
    """GET /v1/models: [{"id": ..., "enabled": bool}, ...] as the gateway lists them."""
    url = resolve_urls(base_url).models
    try:
        response = await client.get(url, headers=_headers(token), follow_redirects=False)
    except httpx.HTTPError as exc:
        raise _transport_error(exc) from None
    if 300 <= response.status_code < 400:
        raise GatewayError(
            response.status_code, "redirect", "The gateway answered with a redirect; check the base URL."
        )
    if response.status_code != 200:
        raise error_from_body(response.status_code, response.content, response.headers)
    try:
        data = response.json().get("data")
    except (ValueError, AttributeError):
        raise GatewayError(200, "malformed_models", "The gateway's model list is not valid JSON.") from None
    if not isinstance(data, list):
        raise GatewayError(200, "malformed_models", "The gateway's model list has no `data` array.")
    return [
        {"id": item["id"], "enabled": item.get("enabled", True) is not False}
        for item in data
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]
