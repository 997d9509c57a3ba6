"""Gateway stream payloads -> typed events.

Each dialect's SSE `data:` payload (already JSON-decoded) becomes zero or more events.
Only the fields the relay needs are read; everything else in a chunk is ignored.

Chat Completions needs only the payload (`chat_events`). OpenAI Responses and Anthropic
Messages name their events, so their parsers take (SSE event name, payload):
`responses_events` and, because Anthropic splits usage across two events, one
`AnthropicEvents()` instance per stream.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    text: str


@dataclass(slots=True)
class Usage:
    """The usage object as the gateway sent it (the last non-null one wins).

    `partial`: only the input half so far (Anthropic's `message_start`); the output count comes
    at the end, so a stream stopped before it has exact input and estimated output.
    """

    raw: dict[str, Any]
    partial: bool = False


@dataclass(slots=True)
class Finish:
    reason: str


@dataclass(slots=True)
class ToolCallDelta:
    """A piece of a tool call: its `id` and `name` when the call opens (empty after), then
    pieces of its JSON `arguments`.

    `key` tells the calls of one answer apart, in the dialect's own terms (chat's
    `tool_calls[].index`, Responses' `output_index`, Anthropic's content block index); the
    relay numbers the calls in the order they open.
    """

    key: int
    id: str = ""
    name: str = ""
    arguments: str = ""


Event = TextDelta | ReasoningDelta | Usage | Finish | ToolCallDelta


class StreamPayloadError(Exception):
    """An `error` object inside an SSE event: the stream failed after it started."""

    def __init__(self, payload: object) -> None:
        super().__init__("error event in stream")
        self.payload = payload


def _reasoning_text(part: dict[str, Any]) -> str:
    """Reasoning parts come as `text`, `summary[].text` or `content[].text` (gpt-oss, Gemini 3)."""
    if isinstance(part.get("text"), str):
        return part["text"]
    pieces = []
    for key in ("summary", "content"):
        for item in part.get(key) or ():
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                pieces.append(item["text"])
    return "".join(pieces)


def _content_events(content: object) -> Iterator[Event]:
    if isinstance(content, str):
        if content:
            yield TextDelta(content)
        return
    if isinstance(content, list):
        # Content-array quirk: parts of type text and reasoning (docs/gateway.md, "Chat completions").
        for part in content:
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind == "reasoning" or kind == "thinking":
                text = _reasoning_text(part) or part.get("thinking") or ""
                if text:
                    yield ReasoningDelta(text)
            elif isinstance(part.get("text"), str) and part["text"]:
                yield TextDelta(part["text"])


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _chat_tool_calls(calls: list) -> Iterator[Event]:
    """`delta.tool_calls`: each piece names its call by `index`; the first carries `id` and
    `function.name`, the others pieces of `function.arguments` (docs/gateway.md, "Tools")."""
    for position, call in enumerate(calls):
        if not isinstance(call, dict):
            continue
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        index = call.get("index")
        key = index if isinstance(index, int) and not isinstance(index, bool) else position
        piece = ToolCallDelta(key, _str(call.get("id")), _str(function.get("name")), _str(function.get("arguments")))
        if piece.id or piece.name or piece.arguments:
            yield piece


def chat_events(chunk: object) -> Iterator[Event]:
    """Events of one `chat.completion.chunk`."""
    if not isinstance(chunk, dict):
        return
    if chunk.get("error") is not None:
        raise StreamPayloadError(chunk)
    choices = chunk.get("choices") or ()
    for choice in choices[:1]:
        delta = choice.get("delta") or choice.get("message") or {}
        for key in ("reasoning_content", "reasoning"):
            value = delta.get(key)
            if isinstance(value, str) and value:
                yield ReasoningDelta(value)
            elif isinstance(value, list):
                yield from (e for e in _content_events(value) if isinstance(e, ReasoningDelta))
        yield from _content_events(delta.get("content"))
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            yield from _chat_tool_calls(calls)
        reason = choice.get("finish_reason")
        if reason:
            yield Finish(reason)
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        yield Usage(usage)


# --- OpenAI Responses (docs/gateway.md, "OpenAI Responses") ---------------------

RESPONSES_REASONING_EVENTS = frozenset({"response.reasoning_summary_text.delta", "response.reasoning_text.delta"})
# incomplete_details.reason -> the chat dialect's finish_reason, so the log speaks one language.
RESPONSES_INCOMPLETE_REASONS = {"max_output_tokens": "length"}
RESPONSES_TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


def event_type(event_name: str | None, payload: object) -> str | None:
    """The event's type: its SSE `event:` name, else the payload's own `type`.

    An absent `event:` line reads as "" (gateway/sse.py) or as "message", the SSE default.
    """
    if event_name and event_name != "message":
        return event_name
    return payload.get("type") if isinstance(payload, dict) else None


def _responses_finish(kind: str, response: dict[str, Any]) -> str:
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    if kind == "response.incomplete" or response.get("status") == "incomplete":
        return RESPONSES_INCOMPLETE_REASONS.get(str(reason), reason or "length")
    return "stop"


def _output_index(payload: dict[str, Any]) -> int:
    index = payload.get("output_index")
    return index if isinstance(index, int) and not isinstance(index, bool) else 0


def responses_events(event_name: str | None, payload: object) -> Iterator[Event]:
    """Events of one Responses stream event."""
    if not isinstance(payload, dict):
        return
    kind = event_type(event_name, payload)
    if kind == "response.output_text.delta":
        delta = payload.get("delta")
        if isinstance(delta, str) and delta:
            yield TextDelta(delta)
    elif kind in RESPONSES_REASONING_EVENTS:
        delta = payload.get("delta")
        if isinstance(delta, str) and delta:
            yield ReasoningDelta(delta)
    elif kind == "response.function_call_arguments.delta":
        delta = payload.get("delta")
        if isinstance(delta, str) and delta:
            yield ToolCallDelta(_output_index(payload), arguments=delta)
    elif kind == "response.output_item.added":
        # A function call opens as an output item with its call_id and name (its arguments
        # follow as response.function_call_arguments.delta events, .done repeats them whole).
        item = payload.get("item")
        if isinstance(item, dict) and item.get("type") == "function_call":
            call_id = _str(item.get("call_id")) or _str(item.get("id"))
            yield ToolCallDelta(_output_index(payload), call_id, _str(item.get("name")), _str(item.get("arguments")))
    elif kind in ("response.completed", "response.incomplete"):
        response = payload.get("response")
        response = response if isinstance(response, dict) else {}
        usage = response.get("usage")
        if isinstance(usage, dict):
            yield Usage(usage)
        yield Finish(_responses_finish(kind, response))
    elif kind == "response.failed":
        # The reason is in response.error ({code, message}); the outer payload only names the event.
        response = payload.get("response")
        failed = isinstance(response, dict) and isinstance(response.get("error"), dict)
        raise StreamPayloadError(response if failed else payload)
    elif kind == "error":
        raise StreamPayloadError(payload)


# --- Anthropic Messages (docs/gateway.md, "Anthropic Messages") --------------------------------------------------------------

# stop_reason -> the chat dialect's finish_reason; the others (stop_sequence, tool_use, refusal, ...) stay as they are.
ANTHROPIC_STOP_REASONS = {"end_turn": "stop", "max_tokens": "length"}
ANTHROPIC_TERMINAL_EVENTS = frozenset({"message_stop"})


def _block_index(payload: dict[str, Any]) -> int:
    index = payload.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else 0


class AnthropicEvents:
    """The parser of one Anthropic stream: call it with (SSE event name, payload) for each event.

    Usage arrives in two halves: `message_start` carries input_tokens and the cache counts,
    `message_delta` the final output_tokens. The instance keeps the first half and yields one
    Usage with the merged object, still in Anthropic's own shape (gateway.pricing reads it
    as dialect "anthropic_messages").
    """

    def __init__(self) -> None:
        self.usage: dict[str, Any] = {}

    def __call__(self, event_name: str | None, payload: object) -> Iterator[Event]:
        if not isinstance(payload, dict):
            return
        kind = event_type(event_name, payload)
        if kind == "content_block_delta":
            delta = payload.get("delta")
            delta = delta if isinstance(delta, dict) else {}
            # signature_delta carries nothing to show.
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str) and delta["text"]:
                yield TextDelta(delta["text"])
            elif delta.get("type") == "thinking_delta" and isinstance(delta.get("thinking"), str) and delta["thinking"]:
                yield ReasoningDelta(delta["thinking"])
            elif delta.get("type") == "input_json_delta" and _str(delta.get("partial_json")):
                # A tool_use block's input, as pieces of JSON text.
                yield ToolCallDelta(_block_index(payload), arguments=delta["partial_json"])
        elif kind == "content_block_start":
            # A block may open with text already in it; the API allows it though it usually starts empty.
            block = payload.get("content_block")
            block = block if isinstance(block, dict) else {}
            if block.get("type") == "text" and isinstance(block.get("text"), str) and block["text"]:
                yield TextDelta(block["text"])
            elif block.get("type") == "thinking" and isinstance(block.get("thinking"), str) and block["thinking"]:
                yield ReasoningDelta(block["thinking"])
            elif block.get("type") == "tool_use":
                # Its `input` here is always {}: the arguments come as input_json_delta pieces.
                yield ToolCallDelta(_block_index(payload), _str(block.get("id")), _str(block.get("name")))
        elif kind == "message_start":
            message = payload.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
            if isinstance(usage, dict):
                self.usage = dict(usage)
                yield Usage(dict(self.usage), partial=True)
        elif kind == "message_delta":
            usage = payload.get("usage")
            if isinstance(usage, dict):
                self.usage.update({key: value for key, value in usage.items() if value is not None})
            if self.usage:
                yield Usage(dict(self.usage))
            delta = payload.get("delta")
            reason = delta.get("stop_reason") if isinstance(delta, dict) else None
            if isinstance(reason, str) and reason:
                yield Finish(ANTHROPIC_STOP_REASONS.get(reason, reason))
        elif kind == "error":
            raise StreamPayloadError(payload)
