"""Bytes on the wire, shared by the three dialects: JSON, SSE frames and the keep-alive."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sse_data(payload: Any) -> bytes:
    return b"data: " + dumps(payload).encode() + b"\n\n"


def sse_event(name: str, payload: Any) -> bytes:
    """A named SSE event, as both native dialects send them."""
    return b"event: " + name.encode() + b"\ndata: " + dumps(payload).encode() + b"\n\n"


def word_slices(text: str, size: int = 3) -> tuple[str, ...]:
    """`text` in pieces of `size` words that join back to it exactly."""
    words = text.split(" ")
    return tuple(
        " ".join(words[i : i + size]) + (" " if i + size < len(words) else "") for i in range(0, len(words), size)
    )


@dataclass(frozen=True, slots=True)
class Frames:
    head: bytes  # sent at once, before the time to first token
    content: tuple[bytes, ...]  # `lead` reasoning frames, then the text frames
    lead: int
    tail: bytes
    body: bytes  # the same answer, not streamed


KEEP_ALIVE = b": keep-alive\n\n"
KEEP_ALIVE_EVERY = 16
