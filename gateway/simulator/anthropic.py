"""The Anthropic Messages dialect: content blocks, split usage, prompt caching and its refusals."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from ..quirks import lookup
from .faults import shape4
from .frames import Frames, dumps, sse_event, word_slices
from .models import normal
from .text import answer_pieces, prompt_tokens_of, reasoning_text, tool_call_id

ANTHROPIC_MIN_BUDGET = 1024  # Anthropic's floor for thinking.budget_tokens
ANTHROPIC_MIN_CACHEABLE = 1024  # Anthropic's shortest cacheable prefix (most models); shorter ones are not cached
ANTHROPIC_PING = sse_event("ping", {"type": "ping"})


def event(kind: str, **fields: Any) -> bytes:
    return sse_event(kind, {"type": kind, **fields})


def message_start(
    model: str, message_id: str, with_usage: bool, input_tokens: int, cache_read: int, cache_write: int
) -> tuple[dict[str, int], dict[str, Any], bytes]:
    """(usage so far, message, its message_start event and a ping): how every Anthropic stream
    opens. The usage has the input tokens and one output token (the final count comes in
    message_delta); the message is also the base of the whole answer sent without streaming."""
    usage = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "output_tokens": 1,
    }
    message: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    if with_usage:
        message["usage"] = usage
    return usage, message, event("message_start", message=message) + ANTHROPIC_PING


@functools.lru_cache(maxsize=512)
def anthropic_frames(
    model: str,
    user_text: str,
    count: int,
    truncated: bool,
    with_usage: bool,
    input_tokens: int,
    cache_read: int,
    cache_write: int,
    thinking: bool,
) -> Frames:
    """An Anthropic stream: message_start, a thinking block when asked, a text block, message_delta, message_stop.

    Usage is split as Anthropic splits it: input and cache counts in message_start (with
    output_tokens 1), the final output_tokens in message_delta.
    """
    pieces = answer_pieces(normal(model), user_text, count)
    reasoning = reasoning_text(user_text) if thinking else ""
    thinking_tokens = len(reasoning.split())
    digest = hashlib.sha256(f"{model}\n{user_text}\n{count}".encode()).digest()
    message_id = "msg_" + digest[:12].hex()
    signature = base64.b64encode(digest).decode()

    usage, message, head = message_start(model, message_id, with_usage, input_tokens, cache_read, cache_write)
    content, blocks = [], []
    if thinking:
        slices = word_slices(reasoning)
        for i, piece in enumerate(slices):
            frame = b""
            if i == 0:
                frame += event(
                    "content_block_start", index=0, content_block={"type": "thinking", "thinking": "", "signature": ""}
                )
            frame += event("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": piece})
            if i == len(slices) - 1:
                frame += event(
                    "content_block_delta", index=0, delta={"type": "signature_delta", "signature": signature}
                ) + event("content_block_stop", index=0)
            content.append(frame)
        blocks.append({"type": "thinking", "thinking": reasoning, "signature": signature})
    lead = len(content)
    index = len(blocks)
    for i, piece in enumerate(pieces):
        frame = event("content_block_start", index=index, content_block={"type": "text", "text": ""}) if i == 0 else b""
        content.append(frame + event("content_block_delta", index=index, delta={"type": "text_delta", "text": piece}))
    if count:
        blocks.append({"type": "text", "text": "".join(pieces)})
    stop_reason = "max_tokens" if truncated else "end_turn"
    delta: dict[str, Any] = {"delta": {"stop_reason": stop_reason, "stop_sequence": None}}
    if with_usage:
        delta["usage"] = {"output_tokens": count + thinking_tokens}
    tail = (event("content_block_stop", index=index) if count else b"") + event("message_delta", **delta)
    tail += event("message_stop")
    final = {**message, "content": blocks, "stop_reason": stop_reason}
    if with_usage:
        final["usage"] = {**usage, "output_tokens": count + thinking_tokens}
    return Frames(head, tuple(content), lead, tail, dumps(final).encode())


def cache_write_tokens(messages: Sequence[Any]) -> int:
    """Prompt tokens up to the last block marked with cache_control, as a first call writes them.

    The simulator keeps no state, so it never knows a prefix is already cached; `sim:cached=N`
    reports reads instead.
    """
    last = None
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, list) and any(isinstance(p, dict) and p.get("cache_control") for p in content):
            last = i
    if last is None:
        return 0
    prefix = prompt_tokens_of(messages[: last + 1])
    return prefix if prefix >= ANTHROPIC_MIN_CACHEABLE else 0


def reject(base: str, request: dict[str, Any], messages: Sequence[Any]) -> bytes | None:
    """Anthropic's 400s (docs/gateway.md, "Anthropic Messages"), in Anthropic's envelope; None when the request is acceptable."""
    max_tokens = request.get("max_tokens")
    if max_tokens is None:
        return shape4("max_tokens: Field required")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        return shape4("max_tokens: Input should be greater than or equal to 1")
    if not any(m.get("role") in ("user", "assistant") for m in messages):
        return shape4("messages: Field required")
    sampling = [p for p in ("temperature", "top_p") if request.get(p) is not None]
    thinking = request.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if isinstance(budget, bool) or not isinstance(budget, int):
            return shape4("thinking.enabled.budget_tokens: Field required")
        if budget < ANTHROPIC_MIN_BUDGET:
            return shape4(
                f"thinking.enabled.budget_tokens: Input should be greater than or equal to {ANTHROPIC_MIN_BUDGET}"
            )
        if max_tokens <= budget:
            return shape4(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at "
                "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
            )
        # Anthropic allows only the default temperature (1) with thinking on.
        if request.get("temperature") not in (None, 1):
            return shape4(
                "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at "
                "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
            )
    if sampling and not lookup(base).temperature:
        return shape4(f"{base} does not support the {sampling[0]} parameter")
    if len(sampling) == 2 and lookup(base).single_sampling_param:
        return shape4("temperature and top_p cannot both be specified for this model. Please use only one.")
    return None


@functools.lru_cache(maxsize=512)
def tool_use_frames(
    model: str,
    user_text: str,
    name: str,
    pieces: tuple[str, ...],
    truncated: bool,
    with_usage: bool,
    input_tokens: int,
    cache_read: int,
    cache_write: int,
) -> Frames:
    """A call of tool `name` in Anthropic's shape: a `tool_use` content block (its id and
    name; `input` {} at the start), its input as `input_json_delta` pieces of `partial_json`,
    content_block_stop, then message_delta with stop_reason "tool_use" (or "max_tokens")."""
    call_id = tool_call_id("toolu_", model, user_text, name)
    message_id = "msg_" + call_id[6:]
    count = len(pieces)

    usage, message, head = message_start(model, message_id, with_usage, input_tokens, cache_read, cache_write)
    opening = event(
        "content_block_start", index=0, content_block={"type": "tool_use", "id": call_id, "name": name, "input": {}}
    )
    content = []
    for piece in pieces:
        content.append(
            opening + event("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": piece})
        )
        opening = b""
    stop_reason = "max_tokens" if truncated else "tool_use"
    delta: dict[str, Any] = {"delta": {"stop_reason": stop_reason, "stop_sequence": None}}
    if with_usage:
        delta["usage"] = {"output_tokens": count}
    tail = opening + event("content_block_stop", index=0) + event("message_delta", **delta) + event("message_stop")
    arguments = "".join(pieces)
    try:
        value = json.loads(arguments)
    except ValueError:
        value = {}
    final = {
        **message,
        "content": [{"type": "tool_use", "id": call_id, "name": name, "input": value}],
        "stop_reason": stop_reason,
    }
    if with_usage:
        final["usage"] = {**usage, "output_tokens": count}
    return Frames(head, tuple(content), 0, tail, dumps(final).encode())
