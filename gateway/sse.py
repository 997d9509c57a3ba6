"""Server-sent events read straight from the response's bytes.

The gateway's answers are event streams (the WHATWG `text/event-stream` format): lines of
`field: value`, an event ending at a blank line. httpx-sse reads them through httpx's text
layer (bytes, then text, then lines, then events: four generators per chunk, each line
decoded on its own); on the relay's path that cost about a third of the CPU of reading a
stream. This parser works on the bytes each read returns: it splits lines on bytes (a line
ending is ASCII, never inside a UTF-8 sequence), keeps only `event` and `data`, and decodes
an event's data once. Invalid UTF-8 becomes U+FFFD, as httpx's text layer does.

Line endings are CRLF, LF or a lone CR (a CR at the end of a read waits for the next read,
which may start with its LF). A line longer than one read is kept in pieces and joined once,
so an event of several MiB arriving in small reads costs its length, not its square.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    event: str
    data: str


class SSEParser:
    """feed(bytes) -> the events that bytes completed; `id` and `retry` are not needed here."""

    __slots__ = ("_data", "_event", "_partial", "_trailing_cr")

    def __init__(self) -> None:
        self._partial: list[bytes] = []  # the pieces of a line not ended yet
        self._trailing_cr = False
        self._event = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[Event]:
        if self._trailing_cr:
            self._trailing_cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]  # the LF of a CRLF split across reads: that line has ended
        if not chunk:
            return []
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):
                self._trailing_cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        elif b"\n" not in chunk:
            self._partial.append(chunk)
            return []
        if self._partial:
            self._partial.append(chunk)
            chunk = b"".join(self._partial)
            self._partial = []
        lines = chunk.split(b"\n")
        rest = lines.pop()  # after the last line ending: the start of the next line
        if rest:
            self._partial.append(rest)
        events = []
        for line in lines:
            if not line:
                if self._data or self._event:
                    events.append(Event(self._event.decode("utf-8", "replace"), self._joined()))
                    self._event = b""
                    self._data = []
                continue
            name, colon, value = line.partition(b":")
            if not colon or not name:
                # A line without a colon is a field with an empty value; one starting with a
                # colon is a comment (keep-alives): neither carries anything used here.
                if line == b"data":
                    self._data.append(b"")
                continue
            if value.startswith(b" "):
                value = value[1:]
            if name == b"data":
                self._data.append(value)
            elif name == b"event":
                self._event = value
        return events

    def _joined(self) -> str:
        data = self._data
        return (data[0] if len(data) == 1 else b"\n".join(data)).decode("utf-8", "replace")


def is_event_stream(content_type: str) -> bool:
    """Whether a Content-Type header says event stream (parameters such as charset aside)."""
    return "text/event-stream" in content_type.partition(";")[0].lower()
