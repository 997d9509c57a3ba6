"""The ASGI app: routes, the bearer credential, request checks, and pacing the frames out."""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any

from ..quirks import lookup
from . import anthropic, chat, responses
from .anthropic import ANTHROPIC_PING, anthropic_frames, cache_write_tokens
from .chat import completion_body, stream_frames
from .faults import (
    ANTHROPIC_ERROR_EVENT,
    ANTHROPIC_MALFORMED_EVENT,
    ERROR_EVENT,
    FAULTS,
    HANG_SECONDS,
    HTTP_FAULTS,
    MALFORMED_EVENT,
    RESPONSES_ERROR_EVENT,
    RESPONSES_MALFORMED_EVENT,
    TPM_LIMIT,
    rate_limit_headers,
    shape1,
    shape4,
)
from .frames import KEEP_ALIVE, KEEP_ALIVE_EVERY, Frames, dumps
from .models import DEFAULT_MODELS, modalities, model_entry, normal
from .responses import responses_frames
from .text import (
    conversation,
    find_directives,
    first_tool,
    image_problem,
    last_user_text,
    prompt_tokens_of,
    reasoning_text,
    requested_schema,
    tool_arguments,
    tool_problem,
)

LONG_CHAT_PATH = "/ai-gateway/mlflow/v1/chat/completions"
SHORT_CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
# docs/gateway.md, "Paths": the long paths, then both short aliases the docs disagree on.
RESPONSES_PATHS = ("/ai-gateway/openai/v1/responses", "/openai/v1/responses", "/v1/responses")
MESSAGES_PATHS = ("/ai-gateway/anthropic/v1/messages", "/anthropic/v1/messages", "/v1/anthropic/v1/messages")
ROUTES = {
    LONG_CHAT_PATH: "chat_completions",
    SHORT_CHAT_PATH: "chat_completions",
    **dict.fromkeys(RESPONSES_PATHS, "openai_responses"),
    **dict.fromkeys(MESSAGES_PATHS, "anthropic_messages"),
}
TOKEN_PREFIX = "nt_live_"
MAX_BODY_BYTES = 32 * 1024 * 1024  # chat bodies over 32 MiB get 413 (docs/gateway.md, "Paths")
DEFAULT_CHUNKS = 64
MAX_CHUNKS = 4096
MAX_DELAY_MS = 600_000

# ASGI, as httpx.ASGITransport and daphne call an app: a scope and messages are plain dicts.
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = Sequence[tuple[bytes, bytes]]


def _int_env(name: str, default: int | None) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def config_from_env() -> dict[str, Any]:
    """create_app keyword arguments from SIMULATOR_* environment variables."""
    models = [m.strip() for m in os.environ.get("SIMULATOR_MODELS", "").split(",") if m.strip()]
    return {
        "ttft_ms": _int_env("SIMULATOR_TTFT_MS", 300),
        "interval_ms": _int_env("SIMULATOR_INTERVAL_MS", 40),
        "chunks": _int_env("SIMULATOR_CHUNKS", None),
        "token": os.environ.get("SIMULATOR_TOKEN") or None,
        "models": models or None,
    }


async def _emit(
    send: Send, frames: Iterable[bytes], offset: int, interval: float, keep_alive: bytes | None = None
) -> None:
    """Send content frames `interval` seconds apart, with a keep-alive now and then.

    On a schedule from the first frame (frame n at n intervals), not a sleep after each: a
    late timer delays one frame, not every frame after it (bench/relay.py compares the
    arrival of each chunk read directly and through the relay)."""
    keep_alive = KEEP_ALIVE if keep_alive is None else keep_alive
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, frame in enumerate(frames, offset):
        if i:
            if interval:
                await asyncio.sleep(max(0.0, start + (i - offset) * interval - loop.time()))
            if i % KEEP_ALIVE_EVERY == 0:
                frame = keep_alive + frame
        await send({"type": "http.response.body", "body": frame, "more_body": True})


async def _until_disconnect(coro: Coroutine[Any, Any, None], receive: Receive) -> None:
    """Run coro, cancelling it as soon as the client goes away."""
    work = asyncio.ensure_future(coro)

    async def watch() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    watcher = asyncio.ensure_future(watch())
    try:
        await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work, watcher):
            task.cancel()
    if work.done() and not work.cancelled():
        work.result()


class Simulator:
    def __init__(
        self,
        *,
        ttft_ms: int = 300,
        interval_ms: int = 40,
        chunks: int | None = None,
        token: str | None = None,
        models: Iterable[str] | None = None,
    ) -> None:
        self.ttft_ms = ttft_ms
        self.interval_ms = interval_ms
        self.chunks = chunks
        self.token = token
        entries = []
        self.enabled = {}
        for raw in models if models is not None else DEFAULT_MODELS:
            model_id = raw.strip()
            enabled = not model_id.startswith("!")
            model_id = model_id.lstrip("!")
            if model_id:
                self.enabled[model_id] = enabled
                entries.append(model_entry(model_id, enabled))
        self.models_body = dumps({"object": "list", "data": entries}).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request_id = uuid.uuid4().hex
        path = scope["path"].rstrip("/") or "/"
        method = scope["method"]
        if path not in ROUTES and path != MODELS_PATH:
            return await self._reply(send, 404, shape1(f"no route for {method} {path}"), request_id)
        wanted = "GET" if path == MODELS_PATH else "POST"
        if method != wanted:
            return await self._reply(send, 405, shape1(f"method {method} not allowed on {path}"), request_id)
        if not self._authorized(scope):
            return await self._reply(send, 401, shape1("invalid or missing credential"), request_id)
        if path == MODELS_PATH:
            return await self._reply(send, 200, self.models_body, request_id)

        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES:
                return await self._reply(send, 413, shape1("request body too large"), request_id)
            if not message.get("more_body"):
                break
        await _until_disconnect(self._generate(ROUTES[path], bytes(body), send, request_id), receive)

    def _authorized(self, scope: Scope) -> bool:
        header = b""
        for name, value in scope["headers"]:
            if name.lower() == b"authorization":
                header = value
                break
        scheme, _, credential = header.decode("latin-1").partition(" ")
        credential = credential.strip()
        if (
            scheme.lower() != "bearer"
            or not credential.startswith(TOKEN_PREFIX)
            or len(credential) <= len(TOKEN_PREFIX)
        ):
            return False
        return self.token is None or hmac.compare_digest(credential.encode(), self.token.encode())

    async def _reply(self, send: Send, status: int, body: bytes, request_id: str, headers: Headers = ()) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _generate(self, dialect: str, raw: bytes, send: Send, request_id: str) -> None:
        try:
            request = json.loads(raw)
        except ValueError:
            return await self._reply(send, 400, shape1("invalid request body: not JSON"), request_id)
        if not isinstance(request, dict):
            return await self._reply(send, 400, shape1("invalid request body: not a JSON object"), request_id)
        model = request.get("model")
        messages = conversation(dialect, request)
        directives = find_directives(messages, model if isinstance(model, str) else "")

        fault = directives["fault"]
        if fault is not None and fault not in FAULTS:
            return await self._reply(send, 400, shape1(f'simulator: unknown fault "{fault}"'), request_id)
        if fault in ("401", "403-scope", "403-branch", "503"):  # auth faults come before model checks
            status, body, headers = HTTP_FAULTS[fault](model)
            return await self._reply(send, status, body, request_id, headers)

        if not isinstance(model, str) or not model:
            return await self._reply(
                send, 400, shape1("missing or invalid model", type="invalid_request_error"), request_id
            )
        base = normal(model)
        if base not in self.enabled:
            message = f'unknown model "{model}"'
            body = shape1(message, type="invalid_request_error", code="invalid_model")
            return await self._reply(send, 400, body, request_id)
        if dialect not in lookup(base).endpoints:
            message = f'model "{model}" is not available on the {dialect} endpoint'
            return await self._reply(send, 400, shape1(message, type="invalid_request_error"), request_id)
        if not self.enabled[base]:
            return await self._reply(send, 403, shape1("model requires a verified account"), request_id)
        if fault in HTTP_FAULTS:
            status, body, headers = HTTP_FAULTS[fault](model)
            return await self._reply(send, status, body, request_id, headers)

        reject = {
            "chat_completions": chat.reject,
            "openai_responses": responses.reject,
            "anthropic_messages": anthropic.reject,
        }[dialect]
        rejection = reject(base, request, messages)
        if rejection is not None:
            return await self._reply(send, 400, rejection, request_id)
        problem = image_problem(dialect, "image" in modalities(base)[0], messages)
        if problem is not None:
            return await self._reply(send, 400, shape1(problem, type="invalid_request_error"), request_id)
        # With tools offered, the answer is a call of the first one (docs/simulator.md, "Tools").
        problem = tool_problem(dialect, request)
        tool = first_tool(dialect, request)
        if problem is None and tool is not None and not lookup(base).tools:
            problem = "this model does not support tools"
        if problem is not None:
            body = shape4(problem) if dialect == "anthropic_messages" else shape1(problem, type="invalid_request_error")
            return await self._reply(send, 400, body, request_id)

        natural = directives["chunks"] if directives["chunks"] is not None else (self.chunks or DEFAULT_CHUNKS)
        natural = max(1, min(natural, MAX_CHUNKS))
        ttft = self.ttft_ms if directives["ttft_ms"] is None else directives["ttft_ms"]
        interval = self.interval_ms if directives["interval_ms"] is None else directives["interval_ms"]
        ttft = min(ttft, MAX_DELAY_MS) / 1000
        interval = min(interval, MAX_DELAY_MS) / 1000
        user_text = last_user_text(messages)
        prompt_tokens = prompt_tokens_of(messages)
        cached = min(directives["cached"] or 0, prompt_tokens)
        rate_headers = rate_limit_headers(max(0, TPM_LIMIT - prompt_tokens), b"0s")
        stream = bool(request.get("stream"))
        with_usage = fault != "no-usage"

        if dialect == "chat_completions":
            max_tokens = request.get("max_tokens") or request.get("max_completion_tokens")
            count, finish = natural, "stop"
            if isinstance(max_tokens, int) and max_tokens < natural:
                count, finish = max_tokens, "length"
            if tool is not None:
                pieces, truncated = tool_arguments(
                    tool[1], natural, max_tokens if isinstance(max_tokens, int) else None
                )
                count, finish = len(pieces), "length" if truncated else "tool_calls"
                usage_mode = _chat_usage_mode(base, request, fault) if stream else ("final" if with_usage else "none")
                frames = chat.tool_call_frames(
                    model, user_text, tool[0], pieces, finish, usage_mode, prompt_tokens, cached
                )
            elif not stream:
                frames = Frames(
                    b"", (), 0, b"", completion_body(model, user_text, count, finish, prompt_tokens, with_usage, cached)
                )
            else:
                usage_mode = _chat_usage_mode(base, request, fault)
                role, content, tail = stream_frames(
                    model,
                    user_text,
                    count,
                    finish,
                    usage_mode,
                    prompt_tokens,
                    cached,
                    requested_schema(dialect, request),
                )
                frames = Frames(role + KEEP_ALIVE, content, 0, tail, b"")
            extras = (ERROR_EVENT, MALFORMED_EVENT, KEEP_ALIVE)
        elif dialect == "openai_responses":
            # max_output_tokens covers the reasoning too: a tight limit leaves less (or no) text.
            limit = request.get("max_output_tokens")
            room = natural if limit is None else limit - len(reasoning_text(user_text).split())
            count, incomplete = (natural, False) if room >= natural else (max(room, 0), True)
            reasoning = request.get("reasoning")
            summary = isinstance(reasoning, dict) and reasoning.get("summary") in ("auto", "concise", "detailed")
            if tool is not None:
                pieces, incomplete = tool_arguments(tool[1], natural, limit)
                count = len(pieces)
                frames = responses.tool_call_frames(
                    model, user_text, tool[0], pieces, incomplete, with_usage, prompt_tokens, cached
                )
            else:
                frames = responses_frames(
                    model,
                    user_text,
                    count,
                    incomplete,
                    with_usage,
                    prompt_tokens,
                    cached,
                    summary,
                    requested_schema(dialect, request),
                )
            extras = (RESPONSES_ERROR_EVENT, RESPONSES_MALFORMED_EVENT, KEEP_ALIVE)
        else:
            thinking = isinstance(request.get("thinking"), dict) and request["thinking"].get("type") == "enabled"
            room = request["max_tokens"] - (len(reasoning_text(user_text).split()) if thinking else 0)
            count, truncated = (natural, False) if room >= natural else (max(room, 0), True)
            # Anthropic's input_tokens excludes the cache reads and writes (docs/gateway.md, "Usage shapes and cost").
            cache_write = 0 if cached else min(cache_write_tokens(messages), prompt_tokens)
            input_tokens = prompt_tokens - cached - cache_write
            if tool is not None:
                pieces, truncated = tool_arguments(tool[1], natural, request["max_tokens"])
                count = len(pieces)
                frames = anthropic.tool_use_frames(
                    model, user_text, tool[0], pieces, truncated, with_usage, input_tokens, cached, cache_write
                )
            else:
                frames = anthropic_frames(
                    model, user_text, count, truncated, with_usage, input_tokens, cached, cache_write, thinking
                )
            extras = (ANTHROPIC_ERROR_EVENT, ANTHROPIC_MALFORMED_EVENT, ANTHROPIC_PING)

        if not stream:
            await asyncio.sleep(ttft + interval * max(count, len(frames.content)))
            if fault == "hang":
                await asyncio.sleep(HANG_SECONDS)
            if fault == "error-event":
                status, body, headers = HTTP_FAULTS["500"](model)
                return await self._reply(send, status, body, request_id, headers)
            body = frames.body
            if fault in ("cut", "malformed"):
                body = body[: len(body) // 2]
            return await self._reply(send, 200, body, request_id, rate_headers)
        await self._stream(send, request_id, rate_headers, frames, extras, fault, ttft, interval)

    async def _stream(
        self,
        send: Send,
        request_id: str,
        rate_headers: Headers,
        frames: Frames,
        extras: tuple[bytes, bytes, bytes],
        fault: str | None,
        ttft: float,
        interval: float,
    ) -> None:
        error_event, malformed_event, keep_alive = extras
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-request-id", request_id.encode()),
                    *rate_headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": frames.head, "more_body": True})
        if fault == "hang":
            await asyncio.sleep(HANG_SECONDS)
            return await send({"type": "http.response.body", "body": b""})
        content = frames.content
        # A mid-stream fault strikes after a few text deltas (or after all of them in a short answer).
        split = len(content)
        if fault in ("cut", "malformed", "error-event"):
            split = frames.lead + min(3 if fault == "cut" else 2, len(content) - frames.lead)
        await asyncio.sleep(ttft)
        await _emit(send, content[:split], 0, interval, keep_alive)
        if fault == "cut":  # the body ends with no finish and no terminal event
            return await send({"type": "http.response.body", "body": b""})
        if fault == "error-event":
            return await send({"type": "http.response.body", "body": error_event})
        if fault == "malformed":
            await send({"type": "http.response.body", "body": malformed_event, "more_body": True})
            await _emit(send, content[split:], split, interval, keep_alive)
        await send({"type": "http.response.body", "body": frames.tail})


def _chat_usage_mode(base: str, request: dict[str, Any], fault: str | None) -> chat.UsageMode:
    """How a chat stream reports usage: on every chunk (Databricks' llama shape), in a final
    chunk (stream_options.include_usage), or not at all."""
    if fault == "no-usage":
        return "none"
    if lookup(base).usage_every_chunk:
        return "every"
    if isinstance(request.get("stream_options"), dict) and request["stream_options"].get("include_usage"):
        return "final"
    return "none"


def create_app(
    *,
    ttft_ms: int = 300,
    interval_ms: int = 40,
    chunks: int | None = None,
    token: str | None = None,
    models: Iterable[str] | None = None,
) -> Simulator:
    """An ASGI app simulating one branch's gateway host (see the module docstring)."""
    return Simulator(ttft_ms=ttft_ms, interval_ms=interval_ms, chunks=chunks, token=token, models=models)
