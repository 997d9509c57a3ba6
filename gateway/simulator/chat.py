"""The chat completions dialect: streamed chunks, the whole-answer body and its refusals."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from typing import Any, Literal

from ..quirks import lookup
from .faults import HTTP_FAULTS, shape2, shape3, unsupported
from .frames import KEEP_ALIVE, Frames, dumps, sse_data
from .models import normal
from .text import answer_pieces, reasoning_text, schema_pieces, tool_call_id

# How a chat stream reports usage (stream_frames).
UsageMode = Literal["every", "final", "none"]
Usage = Callable[[int], dict[str, Any]]

GEMINI_STREAM_OPTIONS_MESSAGE = (
    "Invalid JSON payload received. Unknown name \"stream_options\" at 'generation_config'"  # verbatim, docs/gateway.md
)


def usage_counter(usage_mode: UsageMode, prompt_tokens: int, cached: int, reasoning_tokens: int) -> Usage:
    """usage(completion tokens so far) as a chunk carries it: cumulative on every chunk in
    Databricks' llama shape ("every"), else OpenAI's with its details."""

    def usage(completion: int) -> dict[str, Any]:
        if usage_mode == "every":
            return {
                "completion_tokens": completion,
                "prompt_tokens": prompt_tokens,
                "total_tokens": prompt_tokens + completion,
                "completion_tokens_details": None,
                "prompt_tokens_details": None,
            }
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        }

    return usage


def chunk_maker(
    chunk_id: str, model: str, usage_mode: UsageMode, usage: Usage
) -> tuple[Callable[..., bytes], Callable[[str, int], bytes]]:
    """(chunk, end): chunk(delta, finish_reason, completion tokens so far) is one
    chat.completion.chunk event; end(finish_reason, completion tokens) the last one, then
    the usage chunk (choices: []) when usage comes last."""

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, completion: int = 0) -> bytes:
        payload: dict[str, Any] = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
        if usage_mode == "every":
            payload["usage"] = usage(completion)
        elif usage_mode == "final":
            payload["usage"] = None  # OpenAI sends null usage on each chunk when include_usage is on
        return sse_data(payload)

    def end(finish_reason: str, completion: int) -> bytes:
        last = chunk({}, finish_reason, completion)
        if usage_mode == "final":
            last += sse_data(
                {
                    "id": chunk_id,
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [],
                    "usage": usage(completion),
                }
            )
        return last

    return chunk, end


@functools.lru_cache(maxsize=512)
def stream_frames(
    model: str,
    user_text: str,
    count: int,
    finish: str,
    usage_mode: UsageMode,
    prompt_tokens: int,
    cached: int = 0,
    schema: str = "",
) -> tuple[bytes, tuple[bytes, ...], bytes]:
    """(role frame, content frames, tail) as bytes.

    usage_mode: "final" (a last chunk with choices: [] and usage, OpenAI's
    include_usage), "every" (cumulative usage on every chunk, Databricks' llama
    shape) or "none".
    """
    base = normal(model)
    pieces = schema_pieces(schema, count) if schema else answer_pieces(base, user_text, count)
    reasoning = reasoning_text(user_text) if lookup(base).content_parts else ""
    reasoning_tokens = len(reasoning.split())
    chunk_id = "chatcmpl-" + hashlib.sha256(f"{model}\n{user_text}\n{count}".encode()).hexdigest()[:24]

    usage = usage_counter(usage_mode, prompt_tokens, cached, reasoning_tokens)
    chunk, end = chunk_maker(chunk_id, model, usage_mode, usage)

    role = chunk({"role": "assistant", "content": ""})
    content = []
    for i, piece in enumerate(pieces):
        if reasoning:
            parts: list[dict[str, Any]] = [{"type": "text", "text": piece}]
            if i == 0:
                parts.insert(0, {"type": "reasoning", "summary": [{"type": "summary_text", "text": reasoning}]})
            content.append(chunk({"content": parts}, completion=reasoning_tokens + i + 1))
        else:
            content.append(chunk({"content": piece}, completion=i + 1))
    completion = reasoning_tokens + count
    tail = end(finish, completion)
    return role, tuple(content), tail + b"data: [DONE]\n\n"


def completion_body(
    model: str, user_text: str, count: int, finish: str, prompt_tokens: int, with_usage: bool, cached: int = 0
) -> bytes:
    base = normal(model)
    text = "".join(answer_pieces(base, user_text, count))
    reasoning = reasoning_text(user_text) if lookup(base).content_parts else ""
    reasoning_tokens = len(reasoning.split())
    content: str | list[dict[str, Any]] = text
    if reasoning:
        content = [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": reasoning}]},
            {"type": "text", "text": text},
        ]
    body = {
        "id": "chatcmpl-" + hashlib.sha256(f"{model}\n{user_text}\n{count}".encode()).hexdigest()[:24],
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
    }
    if with_usage:
        completion = count + reasoning_tokens
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        }
    return dumps(body).encode()


def reject(base: str, request: dict[str, Any], messages: Sequence[Any]) -> bytes | None:
    """Upstream 400s of the chat completions dialect; None when the request is acceptable."""
    accepts = lookup(base)
    if not messages:
        return shape2("BAD_REQUEST", "messages must be a non-empty array")
    if not accepts.stream_options and "stream_options" in request:
        return shape2("BAD_REQUEST", GEMINI_STREAM_OPTIONS_MESSAGE)
    max_tokens = request.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        return HTTP_FAULTS["400"](base)[1]
    refused = [p for p in accepts.refused_params if request.get(p) is not None]
    if refused:
        return unsupported(refused[0])
    sampling = [p for p in ("temperature", "top_p") if request.get(p) is not None]
    if not sampling:
        return None
    param = sampling[0]
    if not accepts.temperature:
        if accepts.provider != "anthropic":
            return unsupported(param)
        inner = {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": f"{base} does not support the {param} parameter"},
        }
        return shape3(inner)
    if accepts.single_sampling_param and len(sampling) == 2:
        message = "temperature and top_p cannot both be specified for this model. Please use only one."
        return shape3({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
    return None


@functools.lru_cache(maxsize=512)
def tool_call_frames(
    model: str,
    user_text: str,
    name: str,
    pieces: tuple[str, ...],
    finish: str,
    usage_mode: UsageMode,
    prompt_tokens: int,
    cached: int = 0,
) -> Frames:
    """A call of tool `name` with its arguments in `pieces`, in the chat dialect's shape:
    `delta.tool_calls[0]` opens with its id and function name, then carries pieces of
    `function.arguments`; the answer ends with finish_reason "tool_calls" (or "length")."""
    call_id = tool_call_id("call_", model, user_text, name)
    chunk_id = "chatcmpl-" + call_id[5:]
    count = len(pieces)

    usage = usage_counter(usage_mode, prompt_tokens, cached, 0)
    chunk, end = chunk_maker(chunk_id, model, usage_mode, usage)

    role = chunk({"role": "assistant", "content": None})
    opening = {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
    content = [chunk({"tool_calls": [opening]})]
    for i, piece in enumerate(pieces):
        content.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, completion=i + 1))
    tail = end(finish, count)
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": "".join(pieces)}}],
    }
    body = {
        "id": chunk_id,
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }
    if usage_mode != "none":
        body["usage"] = usage(count)
    return Frames(role + KEEP_ALIVE, tuple(content), 0, tail + b"data: [DONE]\n\n", dumps(body).encode())
