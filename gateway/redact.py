"""Keep a branch's token out of everything a gateway sends back.

A gateway, or a proxy in front of it, may echo the credential it was sent: in an error
message, a request id or rate-limit header, a mid-stream error event, even the answer text.
The client knows the token, so it scrubs everything it hands on (see `gateway/client.py`);
the relay scrubs the finished row once more before it is written.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "[redacted token]"
# Neon tokens look like nt_live_...; a proxy may echo a truncated one, which the exact
# match would miss. Used on error messages and headers only, never on answer text.
NEON_TOKEN_RE = re.compile(r"nt_live_[A-Za-z0-9_\-]+")


class Redactor:
    """Replaces one token with MASK in strings and in the strings inside dicts and lists."""

    __slots__ = ("token",)

    def __init__(self, token: str | None) -> None:
        self.token = (token or "").strip()

    def text(self, value: str) -> str:
        """Answer text: the exact token only (nt_live_ may be part of a legitimate answer)."""
        if self.token and self.token in value:
            return value.replace(self.token, MASK)
        return value

    def message(self, value: str) -> str:
        """Error messages, codes and header values: the token, and anything shaped like a Neon token."""
        return NEON_TOKEN_RE.sub(MASK, self.text(value))

    def value(self, value: Any) -> Any:
        """A JSON-like value with every string in it (keys too) passed through `message`."""
        if isinstance(value, str):
            return self.message(value)
        if isinstance(value, dict):
            return {self.value(k) if isinstance(k, str) else k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def stream(self) -> StreamRedactor:
        return StreamRedactor(self.token)


# A piece's end that could begin the token is held back until the next piece shows whether it
# does, but only from this many characters on: every answer piece ending in "n" (a Neon
# token's first letter) used to wait for the next one, a whole chunk interval. Shorter ends go
# out and are remembered, so a token that turns out to begin there is still caught: at most
# HOLD_FROM - 1 of its first characters are shown ("nt" for a Neon token, the same for every
# one), then the mask.
HOLD_FROM = 3


class StreamRedactor:
    """Scrubs text that arrives in pieces, where the token may be split across two of them.

    Each piece is scanned once, with what was held back before it and the last characters
    released. A tail of the text that could be the start of the token is held back (at most
    len(token) - 1 characters; none when it is shorter than HOLD_FROM) until the next piece
    shows whether it is; `flush` releases it at the end.
    """

    __slots__ = ("lead", "pending", "token")

    def __init__(self, token: str | None) -> None:
        self.token = token or ""
        self.pending = ""
        self.lead = ""  # the last HOLD_FROM - 1 characters released: a token may begin in them

    def feed(self, piece: str) -> str:
        token = self.token
        if not token:
            return piece
        lead = self.lead
        buffer = lead + self.pending + piece
        out: list[str] = []
        done = len(lead)  # what comes before is out already
        scan = 0  # where the start of a token may begin
        at = buffer.find(token)
        while at != -1:
            end = at + len(token)
            if at > done:
                out.append(buffer[done:at])
            out.append(MASK)  # a token begun in the lead has its first characters out already
            done = scan = end
            at = buffer.find(token, end)
        keep = self._partial_tail(buffer[scan:])
        held = min(keep, len(buffer) - done) if keep >= HOLD_FROM else 0
        out.append(buffer[done : len(buffer) - held])
        self.pending = buffer[len(buffer) - held :]
        released = "".join(out)
        self.lead = (lead + released)[-(HOLD_FROM - 1) :]
        return released

    def flush(self) -> str:
        tail, self.pending, self.lead = self.pending, "", ""
        return tail

    def _partial_tail(self, buffer: str) -> int:
        """Length of the longest end of `buffer` that is a proper prefix of the token."""
        token = self.token
        first = token[0]
        at = buffer.find(first, max(0, len(buffer) - len(token) + 1))
        while at != -1:
            if token.startswith(buffer[at:]):
                return len(buffer) - at
            at = buffer.find(first, at + 1)
        return 0
