"""The relay: one task per model streams from the gateway and hands deltas to an Outbox,
which is the only writer to the websocket.

Nothing here touches the database or the channel layer per chunk. Each Completion row is
written when its request ends (it was created when the run started).
"""

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings

from gateway import pricing
from gateway import stream as ev
from gateway.client import GatewayError, ResponseInfo, stream_completion
from playground.http import gateway_client
from playground.usage.rollup import record

from .models import Completion
from .rendering import render_markdown
from .runs import cost_of, prompt_text

log = logging.getLogger(__name__)

# With flow control on (the client acks), at most this many frames are in flight; beyond
# that, deltas are coalesced per panel until the client catches up.
ACK_WINDOW = 64


class Outbox:
    """Coalescing, ordered writer to one websocket.

    Stream tasks never await the socket: they append text to a per-completion buffer and
    wake the writer. The writer sends one delta frame per completion with everything
    buffered, so a burst (or a slow client) costs fewer, larger frames instead of a queue
    of small ones. Control frames (done, error) go out after the deltas buffered before
    them, so a panel's text always precedes its end.
    """

    def __init__(self, send_json):
        self._send_json = send_json
        self._pending = {}  # completion code -> [text parts, reasoning parts]
        self._control = deque()
        self._wake = asyncio.Event()
        self._closed = False
        self.sent = 0
        self.acked = None  # None until the client acks: flow control is opt-in
        self._task = asyncio.create_task(self._run())

    def delta(self, code, text=None, reasoning=None):
        buf = self._pending.get(code)
        if buf is None:
            buf = self._pending[code] = ([], [])
        if text:
            buf[0].append(text)
        if reasoning:
            buf[1].append(reasoning)
        self._wake.set()

    def frame(self, frame):
        self._control.append(frame)
        self._wake.set()

    def ack(self, frames):
        if isinstance(frames, int) and frames >= 0:
            self.acked = min(frames, self.sent)
            self._wake.set()

    def _window_open(self):
        return self.acked is None or self.sent - self.acked < ACK_WINDOW

    async def _run(self):
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            while (self._pending or self._control) and self._window_open():
                # Take the buffered deltas and the control frames queued so far together:
                # every delta of a completion whose end is queued is in this batch.
                pending, self._pending = self._pending, {}
                ends = len(self._control)
                for code, (text, reasoning) in pending.items():
                    frame = {"type": "delta", "completion": code}
                    if text:
                        frame["text"] = "".join(text)
                    if reasoning:
                        frame["reasoning"] = "".join(reasoning)
                    await self._send(frame)
                for _ in range(ends):
                    await self._send(self._control.popleft())

    async def _send(self, frame):
        self.sent += 1
        await self._send_json(frame)

    async def close(self):
        self._closed = True
        self._wake.set()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@dataclass
class Live:
    """What one streaming request has gathered so far (kept in memory, written at the end)."""

    code: str
    started_monotonic: float
    text: list = field(default_factory=list)
    reasoning: list = field(default_factory=list)
    usage: dict | None = None
    finish_reason: str = ""
    first_token: float | None = None
    request_id: str = ""
    rate_limit: dict = field(default_factory=dict)
    status: str = Completion.Status.STREAMING
    error: GatewayError | None = None


def _wall(started, started_monotonic, at):
    return started + timedelta(seconds=at - started_monotonic)


async def relay_completion(planned, *, base_url, token, messages, outbox: Outbox, saved=None):
    """Stream one model's answer to the outbox and log it. Returns the final frame sent."""
    completion = planned.completion
    code = str(completion.code)
    live = Live(code, time.monotonic())
    retried = False
    try:
        while True:
            try:
                async for event in stream_completion(
                    gateway_client(),
                    endpoint=planned.endpoint,
                    base_url=base_url,
                    token=token,
                    model=planned.model,
                    messages=messages,
                    params=planned.params,
                    thinking_budget=planned.thinking_budget,
                ):
                    kind = type(event)
                    if kind is ev.TextDelta:
                        if live.first_token is None:
                            live.first_token = time.monotonic()
                        live.text.append(event.text)
                        outbox.delta(code, text=event.text)
                    elif kind is ev.ReasoningDelta:
                        if live.first_token is None:
                            live.first_token = time.monotonic()
                        live.reasoning.append(event.text)
                        outbox.delta(code, reasoning=event.text)
                    elif kind is ev.Usage:
                        live.usage = event.raw
                    elif kind is ev.Finish:
                        live.finish_reason = event.reason
                    elif kind is ResponseInfo:
                        live.request_id = event.request_id
                        live.rate_limit = event.rate_limit
                live.status = Completion.Status.OK
                break
            except GatewayError as exc:
                polite = (
                    exc.status == 429
                    and not retried
                    and not live.text
                    and exc.retry_after is not None
                    and exc.retry_after <= settings.GATEWAY_RETRY_AFTER_MAX
                )
                if not polite:
                    raise
                retried = True
                outbox.frame(
                    {
                        "type": "completion.notice",
                        "completion": code,
                        "message": f"Rate limited by the gateway; retrying in {exc.retry_after:g} s.",
                    }
                )
                await asyncio.sleep(exc.retry_after)
    except GatewayError as exc:
        live.status = Completion.Status.ERROR
        live.error = exc
        if exc.rate_limit:
            live.rate_limit = exc.rate_limit
        if exc.request_id:
            live.request_id = exc.request_id
    except asyncio.CancelledError:
        # Stop (or disconnect) cancels this task, which owns nothing but this one request:
        # leaving `async with client.stream()` has closed the upstream response. The task
        # then ends normally, after logging the row with the partial text.
        live.status = Completion.Status.CANCELLED
    except Exception:
        log.exception("relay failed for completion %s (model %s)", code, planned.model)
        live.status = Completion.Status.ERROR
        live.error = GatewayError(None, "internal_error", "The playground failed while relaying this answer.")
    if saved is not None:
        try:
            # Shielded: a second stop must not cancel the write the other panels wait on.
            await asyncio.shield(saved)
        except Exception:
            log.exception("could not log run %s", completion.run.code)
            frame = {
                "type": "completion.error",
                "completion": live.code,
                "status": None,
                "code": "log_failed",
                "message": "The playground could not write this request to its log (database error).",
                "retry_after": None,
            }
            outbox.frame(frame)
            return frame
    frame = await finish(completion, live, messages)
    outbox.frame(frame)
    return frame


async def finish(completion, live: Live, messages):
    """Write the request's row once, with whatever is known, and build its final frame."""
    now_monotonic = time.monotonic()
    started = completion.started
    output = "".join(live.text)
    if live.error is not None and live.usage is None and not live.text and not live.reasoning:
        # Refused (an error response, or no connection) before any output: nothing to bill.
        tokens, cost, source, lines = pricing.tokens(None), None, Completion.CostSource.NOT_BILLED, []
    else:
        # An estimate counts the thinking too: reasoning tokens are billed as output.
        tokens, cost, source, lines = cost_of(
            live.usage, completion.endpoint, completion.price, prompt_text(messages), output + "".join(live.reasoning)
        )
    completion.status = live.status
    completion.finished = _wall(started, live.started_monotonic, now_monotonic)
    completion.first_token_at = (
        _wall(started, live.started_monotonic, live.first_token) if live.first_token is not None else None
    )
    completion.output_text = output
    completion.reasoning_text = "".join(live.reasoning)
    completion.usage_raw = live.usage
    completion.prompt_tokens = tokens.prompt
    completion.completion_tokens = tokens.completion
    completion.cached_tokens = tokens.cached
    completion.cache_write_tokens = tokens.cache_write
    completion.reasoning_tokens = tokens.reasoning
    completion.cost = cost
    completion.cost_source = source
    completion.cost_lines = lines
    completion.finish_reason = live.finish_reason
    completion.request_id = live.request_id[:200]
    completion.rate_limit = live.rate_limit
    if live.error is not None:
        completion.http_status = live.error.status
        completion.error_code = live.error.code[:100]
        completion.error_message = live.error.message
        completion.retry_after = live.error.retry_after
    elif live.status == Completion.Status.OK:
        completion.http_status = 200
    await _save(completion)

    if live.error is not None:
        return {
            "type": "completion.error",
            "completion": live.code,
            "status": live.error.status,
            "code": live.error.code,
            "message": live.error.message,
            "retry_after": live.error.retry_after,
            "partial_text": output,
            "cost": None if cost is None else str(cost),
            "cost_source": source,
        }
    return {
        "type": "completion.done",
        "completion": live.code,
        "status": live.status,
        "finish_reason": live.finish_reason or None,
        "usage": _usage_frame(tokens) if live.usage else None,
        "cost": None if cost is None else str(cost),
        "cost_source": source,
        "ttft_ms": completion.ttft_ms,
        "latency_ms": completion.latency_ms,
        "tokens_per_s": completion.tokens_per_s,
        "notes": completion.notes,
        "price_source": (completion.price or {}).get("source"),
        "cost_lines": lines,
        "html": render_markdown(output),
    }


def _usage_frame(tokens):
    return {
        "prompt_tokens": tokens.prompt,
        "completion_tokens": tokens.completion,
        "cached_tokens": tokens.cached,
        "reasoning_tokens": tokens.reasoning,
    }


FINAL_FIELDS = [
    "status", "finished", "first_token_at", "output_text", "reasoning_text", "usage_raw", "prompt_tokens",
    "completion_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "cost", "cost_source",
    "cost_lines", "finish_reason", "request_id", "rate_limit", "http_status", "error_code", "error_message",
    "retry_after",
]  # fmt: skip


@sync_to_async
def _save(completion):
    completion.save(update_fields=FINAL_FIELDS)
    record(completion)
