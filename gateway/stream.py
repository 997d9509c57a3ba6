"""Gateway stream payloads -> typed events.

Each dialect's SSE `data:` payload (already JSON-decoded) becomes zero or more events.
Only the fields the relay needs are read; everything else in a chunk is ignored.
"""

from dataclasses import dataclass


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    text: str


@dataclass(slots=True)
class Usage:
    """The usage object as the gateway sent it (the last non-null one wins)."""

    raw: dict


@dataclass(slots=True)
class Finish:
    reason: str


class StreamPayloadError(Exception):
    """An `error` object inside an SSE event: the stream failed after it started."""

    def __init__(self, payload):
        super().__init__("error event in stream")
        self.payload = payload


def _reasoning_text(part):
    """Reasoning parts come as `text`, `summary[].text` or `content[].text` (gpt-oss, Gemini 3)."""
    if isinstance(part.get("text"), str):
        return part["text"]
    pieces = []
    for key in ("summary", "content"):
        for item in part.get(key) or ():
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                pieces.append(item["text"])
    return "".join(pieces)


def _content_events(content):
    if isinstance(content, str):
        if content:
            yield TextDelta(content)
        return
    if isinstance(content, list):
        # Content-array quirk: parts of type text and reasoning (gateway-spec.md section 5).
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


def chat_events(chunk):
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
        reason = choice.get("finish_reason")
        if reason:
            yield Finish(reason)
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        yield Usage(usage)
