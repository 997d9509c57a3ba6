"""The OpenAI Responses dialect: named, sequence-numbered events and its refusals."""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from ..quirks import lookup
from .faults import shape1, shape2, shape3, unsupported
from .frames import Frames, dumps, sse_event, word_slices
from .models import normal
from .text import answer_pieces, reasoning_text, schema_pieces, tool_call_id

RESPONSES_MIN_OUTPUT_TOKENS = 16  # docs/gateway.md, "OpenAI Responses"


def event_makers(response_id: str, model: str) -> tuple[Callable[..., bytes], Callable[..., dict[str, Any]]]:
    """(event, response): event(kind, **fields) numbers each event of one stream in turn;
    response(status, output, usage, details) is the response object its events carry."""
    sequence = itertools.count()

    def event(kind: str, **fields: Any) -> bytes:
        return sse_event(kind, {"type": kind, "sequence_number": next(sequence), **fields})

    def response(
        status: str,
        output: list[dict[str, Any]],
        usage: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "id": response_id,
            "object": "response",
            "created_at": 0,
            "status": status,
            "error": None,
            "incomplete_details": details,
            "model": model,
            "output": output,
            "store": False,
            "usage": usage,
        }

    return event, response


def usage_of(prompt_tokens: int, cached: int, output: int, reasoning_tokens: int) -> dict[str, Any]:
    """A Responses usage object: the reasoning tokens count in the output tokens."""
    return {
        "input_tokens": prompt_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output + reasoning_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": prompt_tokens + output + reasoning_tokens,
    }


@functools.lru_cache(maxsize=512)
def responses_frames(
    model: str,
    user_text: str,
    count: int,
    incomplete: bool,
    with_usage: bool,
    prompt_tokens: int,
    cached: int,
    summary: bool,
    schema: str = "",
) -> Frames:
    """A Responses stream: response.created ... response.completed (or .incomplete), sequence-numbered.

    Every model here reasons: a reasoning item always comes first, and its summary is streamed
    only when the request asked for one (`reasoning.summary`), as OpenAI does.
    """
    pieces = schema_pieces(schema, count) if schema else answer_pieces(normal(model), user_text, count)
    text = "".join(pieces)
    reasoning = reasoning_text(user_text)
    reasoning_tokens = len(reasoning.split())
    digest = hashlib.sha256(f"{model}\n{user_text}\n{count}".encode()).hexdigest()
    response_id, reasoning_id, message_id = f"resp_{digest[:24]}", f"rs_{digest[24:40]}", f"msg_{digest[40:56]}"
    event, response = event_makers(response_id, model)

    reasoning_item = {
        "id": reasoning_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": reasoning}] if summary else [],
    }
    part = {"type": "output_text", "text": text, "annotations": []}
    message_item = {
        "id": message_id,
        "type": "message",
        "status": "incomplete" if incomplete else "completed",
        "role": "assistant",
        "content": [part],
    }
    output = [reasoning_item, message_item] if count else [reasoning_item]
    usage = usage_of(prompt_tokens, cached, count, reasoning_tokens) if with_usage else None
    status = "incomplete" if incomplete else "completed"
    details = {"reason": "max_output_tokens"} if incomplete else None
    final = response(status, output, usage, details)

    head = event("response.created", response=response("in_progress", [])) + event(
        "response.in_progress", response=response("in_progress", [])
    )
    content = []
    pending = event("response.output_item.added", output_index=0, item={**reasoning_item, "summary": []})
    if summary:
        pending += event(
            "response.reasoning_summary_part.added",
            item_id=reasoning_id,
            output_index=0,
            summary_index=0,
            part={"type": "summary_text", "text": ""},
        )
        for piece in word_slices(reasoning):
            fields = {"item_id": reasoning_id, "output_index": 0, "summary_index": 0, "delta": piece}
            content.append(pending + event("response.reasoning_summary_text.delta", **fields))
            pending = b""
        pending = event(
            "response.reasoning_summary_text.done",
            item_id=reasoning_id,
            output_index=0,
            summary_index=0,
            text=reasoning,
        ) + event(
            "response.reasoning_summary_part.done",
            item_id=reasoning_id,
            output_index=0,
            summary_index=0,
            part={"type": "summary_text", "text": reasoning},
        )
    pending += event("response.output_item.done", output_index=0, item=reasoning_item)
    lead = len(content)
    tail = b""
    if count:
        pending += event(
            "response.output_item.added",
            output_index=1,
            item={**message_item, "status": "in_progress", "content": []},
        ) + event(
            "response.content_part.added",
            item_id=message_id,
            output_index=1,
            content_index=0,
            part={**part, "text": ""},
        )
        for piece in pieces:
            fields = {"item_id": message_id, "output_index": 1, "content_index": 0, "delta": piece, "logprobs": []}
            content.append(pending + event("response.output_text.delta", **fields))
            pending = b""
        where = {"item_id": message_id, "output_index": 1, "content_index": 0}
        tail = (
            event("response.output_text.done", **where, text=text, logprobs=[])
            + event("response.content_part.done", **where, part=part)
            + event("response.output_item.done", output_index=1, item=message_item)
        )
    tail = pending + tail + event("response.incomplete" if incomplete else "response.completed", response=final)
    return Frames(head, tuple(content), lead, tail, dumps(final).encode())


def reject(base: str, request: dict[str, Any], messages: Sequence[Any]) -> bytes | None:
    """Upstream 400s of the Responses dialect (docs/gateway.md, "OpenAI Responses"); None when the request is acceptable."""
    if not messages:
        inner = {
            "error": {
                "message": "Missing required parameter: 'input'.",
                "type": "invalid_request_error",
                "param": "input",
                "code": "missing_required_parameter",
            }
        }
        return shape3(inner)
    # The gateway is stateless. The wording of this refusal is the simulator's own: Neon does not publish it.
    for key in ("previous_response_id", "conversation"):
        if request.get(key):
            return shape1(f"{key} is not supported: the ai gateway does not store responses")
    if request.get("store") is True:
        return shape1("store=true is not supported: the ai gateway does not store responses")
    if request.get("service_tier") == "flex":
        return shape2("BAD_REQUEST", "service_tier 'flex' is not supported by Databricks")
    limit = request.get("max_output_tokens")
    if limit is not None and (not isinstance(limit, int) or limit < RESPONSES_MIN_OUTPUT_TOKENS):
        inner = {
            "error": {
                "message": (
                    "Invalid 'max_output_tokens': integer below minimum value. "
                    f"Expected a value >= {RESPONSES_MIN_OUTPUT_TOKENS}, but got {limit} instead."
                ),
                "type": "invalid_request_error",
                "param": "max_output_tokens",
                "code": "integer_below_min_value",
            }
        }
        return shape3(inner)
    if not lookup(base).temperature:  # the GPT-5 family (docs/gateway.md, "Chat completions")
        for param in ("temperature", "top_p"):
            if request.get(param) is not None:
                return unsupported(param)
    return None


@functools.lru_cache(maxsize=512)
def tool_call_frames(
    model: str,
    user_text: str,
    name: str,
    pieces: tuple[str, ...],
    incomplete: bool,
    with_usage: bool,
    prompt_tokens: int,
    cached: int,
) -> Frames:
    """A call of tool `name` in the Responses shape: a `function_call` output item
    (response.output_item.added, with its call_id and name), its arguments as
    response.function_call_arguments.delta events, then .done, the item done and
    response.completed (or .incomplete when max_output_tokens cut the arguments)."""
    call_id = tool_call_id("call_", model, user_text, name)
    digest = call_id[5:]
    response_id, item_id = f"resp_{digest}", f"fc_{digest}"
    arguments = "".join(pieces)
    count = len(pieces)
    event, response = event_makers(response_id, model)

    item = {
        "id": item_id,
        "type": "function_call",
        "status": "incomplete" if incomplete else "completed",
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }
    usage = usage_of(prompt_tokens, cached, count, 0) if with_usage else None
    status = "incomplete" if incomplete else "completed"
    final = response(status, [item], usage, {"reason": "max_output_tokens"} if incomplete else None)
    head = event("response.created", response=response("in_progress", [])) + event(
        "response.in_progress", response=response("in_progress", [])
    )
    pending = event(
        "response.output_item.added", output_index=0, item={**item, "status": "in_progress", "arguments": ""}
    )
    content = []
    for piece in pieces:
        content.append(
            pending + event("response.function_call_arguments.delta", item_id=item_id, output_index=0, delta=piece)
        )
        pending = b""
    tail = (
        pending
        + event("response.function_call_arguments.done", item_id=item_id, output_index=0, arguments=arguments)
        + event("response.output_item.done", output_index=0, item=item)
        + event("response.incomplete" if incomplete else "response.completed", response=final)
    )
    return Frames(head, tuple(content), 0, tail, dumps(final).encode())
