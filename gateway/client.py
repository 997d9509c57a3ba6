"""The only module that speaks HTTP to a gateway.

It takes an `httpx.AsyncClient` so the process shares one pooled client and tests hand
in a transport. Every failure, whatever its cause, is raised as one `GatewayError`.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NotRequired, TypedDict, Unpack
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from aiohttp.abc import AbstractResolver

from . import quirks
from . import stream as events
from .addresses import parse_allowed_hosts
from .redact import Redactor, StreamRedactor
from .sse import SSEParser, is_event_stream
from .transport import AddressRefusedError, GatewayTransport

NEON_DIALECT_PATHS = {
    "chat_completions": "/ai-gateway/mlflow/v1",
    "openai_responses": "/ai-gateway/openai/v1",
    "anthropic_messages": "/ai-gateway/anthropic/v1",
}
RATE_LIMIT_HEADERS = (
    "retry-after",
    "retry-after-ms",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
)
REQUEST_ID_HEADERS = ("x-request-id", "x-databricks-request-id", "request-id")
ENDPOINTS = ("chat_completions", "openai_responses", "anthropic_messages")
RESPONSES_MIN_OUTPUT_TOKENS = 16  # docs/gateway.md, "OpenAI Responses"
ANTHROPIC_VERSION = "2023-06-01"
MAX_MESSAGE = 500  # characters of a gateway's error message kept
ANTHROPIC_DEFAULT_MAX_TOKENS = 1024  # Messages requires max_tokens; also the headroom above a thinking budget


class GatewayError(Exception):
    """A failed gateway call: HTTP status (None when there was no response), code, message."""

    def __init__(
        self,
        status: int | None,
        code: str | None,
        message: str,
        retry_after: float | None = None,
        rate_limit: dict[str, Any] | None = None,
        request_id: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or ""
        self.message = message
        self.retry_after = retry_after
        self.rate_limit = rate_limit or {}
        self.request_id = request_id

    def __repr__(self) -> str:
        return f"GatewayError(status={self.status!r}, code={self.code!r}, message={self.message!r})"


@dataclass(slots=True)
class ResponseInfo:
    """First event of every stream: what the response headers said."""

    status: int
    request_id: str = ""
    rate_limit: dict[str, Any] = field(default_factory=dict)


# What a stream yields: ResponseInfo first, then the parsed events.
StreamEvent = events.Event | ResponseInfo
# A dialect's parser: (SSE event name, decoded payload) -> events.
Parser = Callable[[str | None, object], Iterable[events.Event]]
AllowedHostsSetting = Iterable[str] | Callable[[], Iterable[str]] | None


@dataclass(frozen=True, slots=True)
class GatewayURLs:
    root: str  # the base with the dialect path removed, for /v1/models on Neon
    chat_completions: str
    openai_responses: str
    anthropic_messages: str
    models: str


@functools.lru_cache(maxsize=256)
def resolve_urls(base_url: str) -> GatewayURLs:
    """Where each dialect lives for a base URL as users paste it (worked out once per URL:
    every request asks).

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


class _NoCookies(httpx.Cookies):
    """An empty jar that stays empty: what a response sets is dropped unread."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


_NO_COOKIES = _NoCookies()


class GatewayClient(httpx.AsyncClient):
    """httpx's AsyncClient without a cookie jar. One pooled client serves every team's
    branches, and branches of different teams may share one gateway host: a cookie one
    team's gateway answer sets must never travel with another team's request. (It also
    spares a urllib request shim per response.) The aiohttp pool underneath keeps none
    either (`gateway.transport`)."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        if cookies:
            raise TypeError("The gateway client keeps no cookies.")


def make_client(
    *,
    connect_timeout: float = 10.0,
    read_timeout: float = 120.0,
    max_connections: int = 400,
    keepalive: float = 60.0,
    transport: httpx.AsyncBaseTransport | None = None,
    allowed_hosts: AllowedHostsSetting = None,
    resolver: AbstractResolver | None = None,
) -> GatewayClient:
    """The pooled client a process shares. Redirects stay off: a token never follows one.

    Without `transport` it runs on `gateway.transport.GatewayTransport` (aiohttp's pool), whose
    resolver refuses non-public addresses at connect time unless the host:port is in
    `allowed_hosts` (a list like GATEWAY_ALLOWED_HOSTS, read on each new connection when
    callable; by default the setting itself). `resolver` replaces the DNS lookup (tests).
    An idle connection stays open `keepalive` seconds for the next request.
    """
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections, keepalive_expiry=keepalive
    )
    if transport is None:
        transport = GatewayTransport(
            limits=limits,
            allowed=_allowed(allowed_hosts),
            resolver=resolver,
        )
    return GatewayClient(
        timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=30.0, pool=connect_timeout),
        limits=limits,
        follow_redirects=False,
        transport=transport,
        headers={"User-Agent": "neon-ai-playground/1.0"},
    )


def _allowed(allowed_hosts: AllowedHostsSetting) -> Callable[[], frozenset[tuple[str, int]]]:
    if callable(allowed_hosts):
        return lambda: parse_allowed_hosts(allowed_hosts())
    if allowed_hosts is not None:
        parsed = parse_allowed_hosts(allowed_hosts)
        return lambda: parsed

    def from_settings() -> frozenset[tuple[str, int]]:
        from django.conf import settings

        return parse_allowed_hosts(getattr(settings, "GATEWAY_ALLOWED_HOSTS", ()) if settings.configured else ())

    return from_settings


def _headers(token: str | None) -> dict[str, str]:
    # No token sends no header (an empty "Bearer " is an illegal header value): the gateway's 401 explains it.
    token = (token or "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def _rate_limit(headers: Mapping[str, str]) -> dict[str, Any]:
    return {name: headers[name] for name in RATE_LIMIT_HEADERS if name in headers}


def _request_id(headers: Mapping[str, str]) -> str:
    for name in REQUEST_ID_HEADERS:
        if name in headers:
            return headers[name]
    return ""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP date (RFC 9110
    section 10.2.3); None when it is neither."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None  # an HTTP date is always GMT
        now = now or datetime.now(UTC)
        return max(round((when - now).total_seconds(), 3), 0.0)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait before retrying: `retry-after-ms` (sent by OpenAI-style APIs, more
    precise) when present and valid, else `retry-after`."""
    try:
        milliseconds: float | None = float(headers.get("retry-after-ms", ""))
    except ValueError:
        milliseconds = None
    if milliseconds is not None and math.isfinite(milliseconds) and milliseconds >= 0:
        return milliseconds / 1000
    return parse_retry_after(headers.get("retry-after"))


def _message_from(payload: object, depth: int = 0) -> tuple[str, str]:
    """(code, message) from any of the gateway's error envelopes (docs/gateway.md, "Errors").

    Only a message found inside an envelope counts: a body that is not one (an HTML page,
    whatever a non-gateway server answers) is never shown, so a branch pointed at another
    service cannot read it back.
    """
    if depth > 4:
        return "", ""
    if isinstance(payload, str):
        text = payload.strip()
        if text.startswith("{"):
            try:
                return _message_from(json.loads(text), depth + 1)
            except ValueError:
                pass
        return ("", text) if depth else ("", "")
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


def error_from_body(status: int, body: bytes, headers: Mapping[str, str] | None = None) -> GatewayError:
    headers = headers or {}
    rate_limit = _rate_limit(headers)
    try:
        payload = json.loads(body.decode("utf-8", "replace")) if body else None
    except ValueError:
        payload = None  # not a gateway error envelope: its text is never shown
    code, message = _message_from(payload) if payload is not None else ("", "")
    if not message:
        code, message = "", f"The gateway answered HTTP {status} with no error message."
    return GatewayError(
        status,
        code[:100] or f"http_{status}",
        message[:MAX_MESSAGE],
        retry_after=retry_after_of(headers),
        rate_limit=rate_limit,
        request_id=_request_id(headers),
    )


def _transport_error(exc: httpx.HTTPError) -> GatewayError:
    if isinstance(exc, AddressRefusedError):
        return GatewayError(None, "address_refused", str(exc))
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


# Tools: a run holds its tool definitions in one form, OpenAI's function shape without its
# wrapper ({"name", "description", "parameters"}); each dialect gets its own (docs/gateway.md, "Tools").


Tool = dict[str, Any]
Body = dict[str, Any]
Message = dict[str, Any]


def chat_tools(tools: list[Tool]) -> list[Tool]:
    """Chat completions: {"type": "function", "function": {name, description, parameters}}."""
    return [{"type": "function", "function": _tool_fields(tool, "parameters")} for tool in tools]


def responses_tools(tools: list[Tool]) -> list[Tool]:
    """OpenAI Responses: the function's fields flat beside "type": "function"."""
    return [{"type": "function", **_tool_fields(tool, "parameters")} for tool in tools]


def anthropic_tools(tools: list[Tool]) -> list[Tool]:
    """Anthropic Messages: {name, description, input_schema}."""
    return [_tool_fields(tool, "input_schema") for tool in tools]


def _tool_fields(tool: Tool, schema_key: str) -> Tool:
    fields: Tool = {"name": tool["name"]}
    if tool.get("description"):
        fields["description"] = tool["description"]
    fields[schema_key] = tool.get("parameters") or {"type": "object", "properties": {}}
    return fields


def chat_body(model: str, messages: list[Message], params: dict[str, Any], *, include_usage: bool) -> Body:
    body: Body = {"model": model, "messages": messages, "stream": True}
    body.update(params)
    if params.get("tools"):
        body["tools"] = chat_tools(params["tools"])
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    return body


def accepts_stream_options(model: str) -> bool:
    # Gemini refuses it with a 400 (docs/gateway.md, "Chat completions").
    return quirks.lookup(model).stream_options


class StreamRequest(TypedDict):
    """What every dialect's stream function takes: where, with which token, which model, the
    messages (chat-style) and the run's parameters (None for none)."""

    base_url: str
    token: str | None
    model: str
    messages: list[Message]
    params: NotRequired[dict[str, Any] | None]


async def stream_chat(
    client: httpx.AsyncClient, *, include_usage: bool | None = None, **request: Unpack[StreamRequest]
) -> AsyncIterator[StreamEvent]:
    """Stream one chat completion: yields ResponseInfo, then TextDelta / ReasoningDelta /
    Usage / Finish events. Raises GatewayError on any failure.

    Cancelling the task iterating this generator closes the upstream response.
    """
    model = request["model"]
    if include_usage is None:
        include_usage = accepts_stream_options(model)
    url = resolve_urls(request["base_url"]).chat_completions + "/chat/completions"
    body = chat_body(model, request["messages"], request.get("params") or {}, include_usage=include_usage)
    async for event in _stream(client, url, request["token"], body, _chat_parser):
        yield event


def _chat_parser(event_name: str | None, payload: object) -> Iterator[events.Event]:
    # Chat chunks carry no event names: the payload alone says everything.
    return events.chat_events(payload)


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _split_system(messages: list[Message]) -> tuple[str, list[Message]]:
    """(system text, user/assistant turns): both dialects take the system prompt outside the turns."""
    system: list[str] = []
    turns: list[Message] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            text = _text_of(message.get("content"))
            if text:
                system.append(text)
        elif role in ("user", "assistant"):
            turns.append(message)
    return "\n\n".join(system), turns


def _image_url(part: object) -> str | None:
    """The URL of a chat-style image part ({"type": "image_url", "image_url": {"url": ...}}), else None."""
    if isinstance(part, dict) and part.get("type") == "image_url":
        image = part.get("image_url")
        return image.get("url") if isinstance(image, dict) else image
    return None


def _responses_content(role: str, content: object) -> object:
    if not isinstance(content, list):
        return content
    # Chat's {"type": "text"} parts are input_text from the user and output_text from the assistant here;
    # an image is {"type": "input_image", "image_url": "<url>"} (docs/gateway.md, "Images").
    kind = "output_text" if role == "assistant" else "input_text"
    parts = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text":
            parts.append({"type": kind, "text": part["text"]})
        elif _image_url(part) is not None:
            parts.append({"type": "input_image", "image_url": _image_url(part)})
        else:
            parts.append(part)
    return parts


def _anthropic_content(content: object) -> object:
    """Chat-style parts in Anthropic's shape: a data: URL image becomes a base64 source
    (docs/gateway.md, "Images")."""
    if not isinstance(content, list):
        return content
    parts = []
    for part in content:
        url = _image_url(part)
        if url is not None and url.startswith("data:") and ";base64," in url:
            media_type, data = url[len("data:") :].split(";base64,", 1)
            parts.append({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}})
        elif url is not None:
            parts.append({"type": "image", "source": {"type": "url", "url": url}})
        else:
            parts.append(part)
    return parts


def responses_body(model: str, messages: list[Message], params: dict[str, Any]) -> Body:
    instructions, turns = _split_system(messages)
    body: Body = {
        "model": model,
        "input": [{"role": m["role"], "content": _responses_content(m["role"], m.get("content"))} for m in turns],
        "stream": True,
        # The gateway is stateless: stored responses are unsupported (docs/gateway.md, "OpenAI Responses").
        "store": False,
    }
    if instructions:
        body["instructions"] = instructions
    max_tokens = params.get("max_tokens") or params.get("max_completion_tokens")
    if max_tokens is not None:
        body["max_output_tokens"] = max(int(max_tokens), RESPONSES_MIN_OUTPUT_TOKENS)
    for key in ("temperature", "top_p"):
        if params.get(key) is not None:
            body[key] = params[key]
    response_format = params.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        # Chat's response_format is Responses' text.format, flattened (docs/gateway.md, "Structured output").
        spec = response_format.get("json_schema") or {}
        body["text"] = {
            "format": {"type": "json_schema", "name": spec.get("name", "answer"), "schema": spec.get("schema")}
        }
    if params.get("reasoning_effort"):
        # Without `summary` the model reasons but streams none of it.
        body["reasoning"] = {"effort": params["reasoning_effort"], "summary": "auto"}
    if params.get("tools"):
        body["tools"] = responses_tools(params["tools"])
    return body


def anthropic_body(
    model: str, messages: list[Message], params: dict[str, Any], thinking_budget: int | None = None
) -> Body:
    system, turns = _split_system(messages)
    max_tokens = int(params.get("max_tokens") or params.get("max_completion_tokens") or ANTHROPIC_DEFAULT_MAX_TOKENS)
    body: Body = {
        "model": model,
        "messages": [{"role": m["role"], "content": _anthropic_content(m.get("content"))} for m in turns],
    }
    if system:
        body["system"] = system
    if thinking_budget:
        budget = int(thinking_budget)
        # max_tokens counts the thinking too and must exceed the budget (docs/gateway.md, "Anthropic Messages").
        if max_tokens <= budget:
            max_tokens = budget + ANTHROPIC_DEFAULT_MAX_TOKENS
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    else:
        # Sampling parameters are refused with thinking on; Claude takes only one of the two.
        if params.get("temperature") is not None:
            body["temperature"] = params["temperature"]
        elif params.get("top_p") is not None:
            body["top_p"] = params["top_p"]
    if params.get("stop"):
        body["stop_sequences"] = params["stop"]
    if params.get("tools"):
        body["tools"] = anthropic_tools(params["tools"])
    body["max_tokens"] = max_tokens
    body["stream"] = True
    return body


async def stream_responses(client: httpx.AsyncClient, **request: Unpack[StreamRequest]) -> AsyncIterator[StreamEvent]:
    """Stream one answer through the OpenAI Responses dialect (events as stream_chat's)."""
    url = resolve_urls(request["base_url"]).openai_responses + "/responses"
    body = responses_body(request["model"], request["messages"], request.get("params") or {})
    async for event in _stream(
        client, url, request["token"], body, events.responses_events, terminal=events.RESPONSES_TERMINAL_EVENTS
    ):
        yield event


async def stream_anthropic(
    client: httpx.AsyncClient, *, thinking_budget: int | None = None, **request: Unpack[StreamRequest]
) -> AsyncIterator[StreamEvent]:
    """Stream one answer through the Anthropic Messages dialect (events as stream_chat's).

    The token goes as `Authorization: Bearer`; the gateway swaps it for its own credential
    before calling Anthropic (docs/gateway.md, "Authentication and credentials").
    """
    url = resolve_urls(request["base_url"]).anthropic_messages + "/messages"
    body = anthropic_body(request["model"], request["messages"], request.get("params") or {}, thinking_budget)
    async for event in _stream(
        client,
        url,
        request["token"],
        body,
        events.AnthropicEvents(),
        terminal=events.ANTHROPIC_TERMINAL_EVENTS,
        extra_headers={"anthropic-version": ANTHROPIC_VERSION},
    ):
        yield event


def stream_completion(
    client: httpx.AsyncClient,
    *,
    endpoint: str,
    thinking_budget: int | None = None,
    include_usage: bool | None = None,
    **request: Unpack[StreamRequest],
) -> AsyncIterator[StreamEvent]:
    """The stream of one answer through `endpoint`: "chat_completions", "openai_responses" or
    "anthropic_messages". thinking_budget applies to Anthropic only; include_usage (ask for
    usage on the last chunk) to chat completions only, looked up by model id when None."""
    if endpoint == "chat_completions":
        return stream_chat(client, **request, include_usage=include_usage)
    if endpoint == "openai_responses":
        return stream_responses(client, **request)
    if endpoint == "anthropic_messages":
        return stream_anthropic(client, **request, thinking_budget=thinking_budget)
    raise ValueError(f"unknown endpoint {endpoint!r}")


def _scrubbed_error(exc: GatewayError, redact: Redactor) -> GatewayError:
    return GatewayError(
        exc.status,
        redact.message(exc.code),
        redact.message(exc.message),
        retry_after=exc.retry_after,
        rate_limit=redact.value(exc.rate_limit),
        request_id=redact.message(exc.request_id),
    )


async def _stream(
    client: httpx.AsyncClient,
    url: str,
    token: str | None,
    body: Body,
    parse: Parser,
    *,
    terminal: frozenset[str] = frozenset(),
    extra_headers: dict[str, str] | None = None,
) -> AsyncIterator[StreamEvent]:
    """Events of one streamed answer, with the token scrubbed from everything the gateway
    sent back (see gateway/redact.py): a gateway or proxy may echo it anywhere."""
    redact = Redactor(token)
    text, reasoning = redact.stream(), redact.stream()
    calls: dict[int, StreamRedactor] = {}  # a tool call's key -> the scrubber of its arguments
    try:
        async for event in _raw_stream(client, url, token, body, parse, terminal=terminal, extra_headers=extra_headers):
            if isinstance(event, events.TextDelta):
                piece = text.feed(event.text)
                if piece:
                    yield events.TextDelta(piece)
            elif isinstance(event, events.ReasoningDelta):
                piece = reasoning.feed(event.text)
                if piece:
                    yield events.ReasoningDelta(piece)
            elif isinstance(event, events.ToolCallDelta):
                # Arguments are model output like the text (split tokens held back per call);
                # an id or a name arrives whole.
                scrub = calls.get(event.key)
                if scrub is None:
                    scrub = calls[event.key] = redact.stream()
                piece = scrub.feed(event.arguments) if event.arguments else ""
                if event.id or event.name or piece:
                    yield events.ToolCallDelta(event.key, redact.text(event.id), redact.text(event.name), piece)
            elif isinstance(event, ResponseInfo):
                yield ResponseInfo(event.status, redact.message(event.request_id), redact.value(event.rate_limit))
            elif isinstance(event, events.Usage):
                yield events.Usage(redact.value(event.raw), event.partial)
            else:
                if isinstance(event, events.Finish):
                    for tail in _tails(text, reasoning, calls):
                        yield tail
                yield event
    except GatewayError as exc:
        # The text held back is part of the answer: it goes out before the error.
        for tail in _tails(text, reasoning, calls):
            yield tail
        raise _scrubbed_error(exc, redact) from None
    for tail in _tails(text, reasoning, calls):
        yield tail


def _tails(text: StreamRedactor, reasoning: StreamRedactor, calls: dict[int, StreamRedactor]) -> Iterator[events.Event]:
    rest = reasoning.flush()
    if rest:
        yield events.ReasoningDelta(rest)
    rest = text.flush()
    if rest:
        yield events.TextDelta(rest)
    for key, scrub in calls.items():
        rest = scrub.flush()
        if rest:
            yield events.ToolCallDelta(key, arguments=rest)


def parse_json(data: str) -> object:
    """One SSE payload: orjson (about 5x faster on a chunk), and json where orjson is stricter
    than the standard library (NaN, lone surrogates), so what parsed before still parses."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def encode_body(body: object) -> bytes:
    """A request body as JSON: orjson (a tenth of the time of json.dumps on a run's messages),
    and the standard library for what orjson refuses (an integer past 64 bits in a tool's
    schema), written as httpx's `json=` writes it (compact, UTF-8, no NaN)."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


@functools.lru_cache(maxsize=256)
def _parsed_url(url: str) -> httpx.URL:
    # A branch's few endpoint URLs, parsed once (httpx parses a str URL on every request).
    return httpx.URL(url)


def _body_reads(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body of a streamed response, read by read.

    Without a content coding, straight from the transport's stream: httpx's own reading
    (`aiter_bytes` over `aiter_raw`, two generators, a decoder and a chunker) hands each read
    on unchanged: about 5% of the relay's CPU a chunk at 150 streams (docs/benchmarks.md).
    With one (a gateway or proxy that compresses its event stream), httpx decodes it.
    """
    coding = response.headers.get("content-encoding", "").strip().lower()
    stream = response.stream
    if coding in ("", "identity") and isinstance(stream, httpx.AsyncByteStream):
        return aiter(stream)
    return response.aiter_bytes()


async def _raw_stream(
    client: httpx.AsyncClient,
    url: str,
    token: str | None,
    body: Body,
    parse: Parser,
    *,
    terminal: frozenset[str] = frozenset(),
    extra_headers: dict[str, str] | None = None,
) -> AsyncIterator[StreamEvent]:
    """Events of one streamed answer. parse(event name, payload) yields events; `terminal`
    names the events that end a stream sent without [DONE] (Responses, Anthropic)."""
    headers = _headers(token)
    headers["Accept"] = "text/event-stream"
    headers["Content-Type"] = "application/json"
    headers.update(extra_headers or {})
    done = False
    finished = False
    try:
        # follow_redirects=False even if the caller's client follows: the token must not travel on.
        async with client.stream(
            "POST", _parsed_url(url), content=encode_body(body), headers=headers, follow_redirects=False
        ) as response:
            if response.status_code >= 400:
                raise error_from_body(response.status_code, await response.aread(), response.headers)
            if 300 <= response.status_code < 400:
                raise GatewayError(
                    response.status_code, "redirect", "The gateway answered with a redirect; check the base URL."
                )
            yield ResponseInfo(response.status_code, _request_id(response.headers), _rate_limit(response.headers))
            if not is_event_stream(response.headers.get("content-type", "")):
                raise GatewayError(None, "not_a_stream", "The gateway did not answer with an event stream.")
            parser = SSEParser()
            async for chunk in _body_reads(response):
                for sse in parser.feed(chunk):
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
                        payload = parse_json(data)
                    except ValueError:
                        raise GatewayError(
                            response.status_code, "malformed_sse", "The gateway sent a malformed event (invalid JSON)."
                        ) from None
                    try:
                        for event in parse(sse.event, payload):
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
                    if terminal and events.event_type(sse.event, payload) in terminal:
                        done = True
                        break
                if done:
                    break
    except httpx.HTTPError as exc:
        raise _transport_error(exc) from None
    if not done and not finished:
        raise GatewayError(None, "stream_cut", "The gateway closed the stream before the answer was complete.")


async def list_models(client: httpx.AsyncClient, *, base_url: str, token: str | None) -> list[dict[str, Any]]:
    """GET /v1/models: [{"id": ..., "enabled": bool}, ...] as the gateway lists them."""
    try:
        return await _list_models(client, resolve_urls(base_url).models, token)
    except GatewayError as exc:
        raise _scrubbed_error(exc, Redactor(token)) from None


async def _list_models(client: httpx.AsyncClient, url: str, token: str | None) -> list[dict[str, Any]]:
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


async def fetch_json(client: httpx.AsyncClient, url: str) -> Any:
    """GET a public JSON document (the model catalog, docs/gateway.md) and parse it.

    No Authorization header: the catalog is public, and a gateway token must never go to
    a host that is not its gateway. Redirects are not followed, so the URL named is the
    one read.
    """
    try:
        response = await client.get(url, headers={"Accept": "application/json"}, follow_redirects=False)
    except httpx.InvalidURL:
        raise GatewayError(None, "invalid_url", f"Not a URL that can be fetched: {url!r}.") from None
    except httpx.UnsupportedProtocol:
        raise GatewayError(
            None, "invalid_url", f"Only http:// and https:// URLs can be fetched, not {url!r}."
        ) from None
    except httpx.TimeoutException:
        raise GatewayError(None, "timeout", f"Timed out fetching {url}.") from None
    except httpx.HTTPError as exc:
        raise GatewayError(None, "network_error", f"Could not fetch {url} ({type(exc).__name__}).") from None
    if 300 <= response.status_code < 400:
        location = response.headers.get("location", "")
        raise GatewayError(
            response.status_code, "redirect", f"{url} answered with a redirect to {location or '?'}; use that URL."
        )
    if response.status_code != 200:
        raise GatewayError(
            response.status_code, f"http_{response.status_code}", f"{url} answered HTTP {response.status_code}."
        )
    try:
        return response.json()
    except ValueError:
        raise GatewayError(200, "invalid_json", f"{url} did not answer with valid JSON.") from None
