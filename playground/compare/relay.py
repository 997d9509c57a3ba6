"""The relay: one task per model streams from the gateway and hands deltas to an Outbox,
which is the only writer to the websocket.

Nothing here touches the database or the channel layer per chunk. Each Completion row is
written when its request ends (it was created when the run started).
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from gateway import stream as ev
from gateway.client import GatewayError, ResponseInfo, stream_completion
from gateway.redact import Redactor
from playground import metrics, rows
from playground.http import gateway_client

from . import lifecycle, schemas, writes
from .models import Completion
from .rendering import render_off_loop
from .run_frame import prompt_text
from .runs import Gateway
from .signals import completions_finished

log = logging.getLogger(__name__)

# With flow control on (the client acks), at most this many frames are in flight; beyond
# that, deltas are coalesced per panel until the client catches up.
ACK_WINDOW = 64

Frame = dict[str, Any]


class Outbox:
    """Coalescing, ordered writer to one websocket.

    Stream tasks never await the socket: they append text to a per-completion buffer and
    wake the writer. The writer sends everything buffered in one frame: a `delta` frame when
    one completion has text waiting, a `deltas` frame with one piece per completion when
    several do. So a burst (or a slow client) costs fewer, larger frames instead of a queue
    of small ones. Control frames go out in their place: one queued before any text waits
    (run.started comes first), one queued after text (done, error) follows that text, so a
    panel's text always sits between its start and its end.

    Tool calls are buffered the same way, per completion and call: one `completion.tool_call`
    frame per call with the arguments that arrived since the last one (its id and name in
    the first), after the completion's text delta.
    """

    def __init__(
        self,
        send_json: Callable[[Frame], Awaitable[None]],
        limit: int | None = None,
        on_overflow: Callable[[], None] | None = None,
        coalesce: float = 0.0,
    ) -> None:
        self._send_json = send_json
        # Seconds the writer waits once woken, so that the panels' chunks arriving meanwhile
        # go out in the same frame (each frame costs the same to send, whatever it carries).
        self.coalesce = coalesce
        # A panel's first text is waiting: the writer does not wait for more. The time to first
        # token is what a user watches for, and waiting would save one frame per panel.
        self._hurry = False
        # completion code -> [text parts, reasoning parts, tool calls or None (call number -> [id, name, argument parts])]
        self._pending: dict[str, list[Any]] = {}
        self._control: deque[Frame] = deque()
        # How many of the control frames at the head of _control were queued while no delta
        # was waiting (a run.started before its first text): they go out before the deltas.
        self._leading = 0
        self._wake = asyncio.Event()
        self._closed = False
        self.sent = 0
        self.acked: int | None = None  # None until the client acks: flow control is opt-in
        # One bound on every frame of this socket, queued here or sent and not acknowledged
        # (a client that never acks acknowledges nothing): past it, on_overflow() is called
        # once and nothing more is queued.
        self.limit = limit
        self._on_overflow = on_overflow
        self.overflowed = False
        self._task = asyncio.create_task(self._run())

    @property
    def outstanding(self) -> int:
        return self.sent - (self.acked or 0) + len(self._control) + len(self._pending)

    def _check(self) -> bool:
        if self.limit is not None and not self.overflowed and self.outstanding > self.limit:
            self.overflowed = True
            self._pending.clear()
            self._control.clear()
            self._leading = 0
            if self._on_overflow is not None:
                self._on_overflow()
        return not self.overflowed

    def delta(self, code: str, text: str | None = None, reasoning: str | None = None, first: bool = False) -> None:
        """Text of a completion; `first`: its first (the writer then sends without waiting)."""
        if self.overflowed or self._closed:
            return
        if first:
            self._hurry = True
        buf = self._pending.get(code)
        if buf is None:
            buf = self._pending[code] = [[], [], None]
        if text:
            buf[0].append(text)
        if reasoning:
            buf[1].append(reasoning)
        if self._check():
            self._wake.set()

    def tool_call(self, code: str, number: int, call_id: str = "", name: str = "", arguments: str = "") -> None:
        """A piece of tool call `number` of a completion: its id and name when it opens, then arguments."""
        if self.overflowed or self._closed:
            return
        buf = self._pending.get(code)
        if buf is None:
            buf = self._pending[code] = [[], [], None]
        calls = buf[2]
        if calls is None:
            calls = buf[2] = {}
        call = calls.get(number)
        if call is None:
            call = calls[number] = ["", "", []]
        if call_id:
            call[0] = call_id
        if name:
            call[1] += name
        if arguments:
            call[2].append(arguments)
        if self._check():
            self._wake.set()

    def frame(self, frame: Frame) -> None:
        if self.overflowed or self._closed:
            return
        if not self._pending:
            self._leading += 1
        self._control.append(frame)
        if self._check():
            self._wake.set()

    def ack(self, frames: object) -> bool:
        """Returns whether the ack acknowledged frames not acknowledged before."""
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 0:
            return False
        frames = min(frames, self.sent)
        advanced = self.acked is None or frames > self.acked
        if advanced:
            self.acked = frames
            self._wake.set()
        return advanced

    def _window_open(self) -> bool:
        return self.acked is None or self.sent - self.acked < ACK_WINDOW

    async def _run(self) -> None:
        while not self._closed:
            await self._wake.wait()
            if self.coalesce and not self._hurry:
                await asyncio.sleep(self.coalesce)
            self._hurry = False
            self._wake.clear()
            while (self._pending or self._control) and self._window_open() and not self._closed:
                # Take the buffered deltas and the control frames queued so far together:
                # every delta of a completion whose end is queued is in this batch.
                pending, self._pending = self._pending, {}
                ends = len(self._control)
                # Frames queued before any of these deltas go first; the rest (a panel's end
                # after its text) after them.
                leading, self._leading = self._leading, 0
                for _ in range(leading):
                    if not self._control:  # cleared by an overflow meanwhile
                        break
                    await self._send(self._control.popleft())
                    ends -= 1
                texts = [(code, parts) for code, parts in pending.items() if parts[0] or parts[1]]
                if len(texts) == 1:
                    await self._send({"type": "delta", **_piece(*texts[0])})
                elif texts:
                    # Panels of one socket streaming together: their text in one frame (each
                    # frame costs the same on its way out, whatever it carries).
                    await self._send({"type": "deltas", "deltas": [_piece(c, p) for c, p in texts]})
                for code, (_text, _reasoning, calls) in pending.items():
                    for number, (call_id, name, arguments) in (calls or {}).items():
                        call: Frame = {"type": "completion.tool_call", "completion": code, "index": number}
                        if call_id:
                            call["id"] = call_id
                        if name:
                            call["name"] = name
                        call["arguments"] = "".join(arguments)
                        await self._send(call)
                for _ in range(ends):
                    if not self._control:  # cleared by an overflow meanwhile
                        break
                    await self._send(self._control.popleft())

    async def _send(self, frame: Frame) -> None:
        self.sent += 1
        if self._check():
            await self._send_json(frame)

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def _piece(code: str, parts: list) -> Frame:
    text, reasoning = parts[0], parts[1]
    piece: Frame = {"completion": code}
    if text:
        piece["text"] = "".join(text)
    if reasoning:
        piece["reasoning"] = "".join(reasoning)
    return piece


async def relay_completion(
    completion: Completion, gateway: Gateway, outbox: Outbox, saved: Awaitable[Any] | None = None
) -> None:
    """Stream one model's answer to the outbox, then write its row and send its final frame.

    `completion` is the live record of the request (see `Completion.plan`): the stream
    writes into it, `apply_result` settles it, and it is saved once, at the end.
    """
    code = str(completion.code)
    status, error = Completion.Status.OK, None
    lifecycle.track(code, lambda: ("".join(completion.text_parts), "".join(completion.reasoning_parts)))
    retried = False
    metrics.streams_open.inc()
    try:
        while True:
            try:
                async for event in stream_completion(
                    gateway_client(),
                    endpoint=completion.endpoint,
                    base_url=gateway.base_url,
                    token=gateway.token,
                    model=completion.model,
                    messages=completion.request_messages(),
                    params=completion.send_params,
                    thinking_budget=completion.thinking_budget,
                    include_usage=completion.include_usage,
                ):
                    if isinstance(event, ev.TextDelta):
                        first = completion.first_token_at is None
                        completion.add_text(event.text)
                        outbox.delta(code, text=event.text, first=first)
                    elif isinstance(event, ev.ReasoningDelta):
                        first = completion.first_token_at is None
                        completion.add_reasoning(event.text)
                        outbox.delta(code, reasoning=event.text, first=first)
                    elif isinstance(event, ev.ToolCallDelta):
                        number = completion.add_tool_call(event.key, event.id, event.name, event.arguments)
                        outbox.tool_call(code, number, event.id, event.name, event.arguments)
                    elif isinstance(event, ev.Usage):
                        completion.usage_raw, completion.usage_partial = event.raw, event.partial
                    elif isinstance(event, ev.Finish):
                        completion.finish_reason = event.reason
                    elif isinstance(event, ResponseInfo):
                        completion.accept(event.status, event.request_id, event.rate_limit)
                break
            except GatewayError as exc:
                wait = exc.retry_after
                polite = (
                    exc.status == 429
                    and not retried
                    and not completion.text_parts
                    and not completion.call_parts
                    and wait is not None
                    and wait <= settings.GATEWAY_RETRY_AFTER_MAX
                )
                if not polite or wait is None:
                    raise
                retried = True
                outbox.frame(
                    {
                        "type": "completion.notice",
                        "completion": code,
                        "message": f"Rate limited by the gateway; retrying in {wait:g} s.",
                    }
                )
                await asyncio.sleep(wait)
    except GatewayError as exc:
        status, error = Completion.Status.ERROR, exc
    except asyncio.CancelledError:
        # Stop (or disconnect) cancels this task, which owns nothing but this one request:
        # leaving `async with client.stream()` has closed the upstream response. The task
        # then ends normally, after logging the row with the partial text.
        status = Completion.Status.CANCELLED
        if lifecycle.stopping():
            status = Completion.Status.INTERRUPTED
            error = GatewayError(None, "interrupted", "The server is restarting; this answer stops here.")
    except Exception:
        log.exception("relay failed for completion %s (model %s)", code, completion.model)
        status = Completion.Status.ERROR
        error = GatewayError(None, "internal_error", "The playground failed while relaying this answer.")
    finally:
        metrics.streams_open.dec()
    completion.apply_result(status, error, prompt_text=prompt_text(completion.request_messages()))
    redact_row(completion, gateway.token)
    # The row and the end frame go out whatever happens next: a second stop (Esc sends one for
    # the run and one per panel) or a disconnect right after a stop cancels this task again
    # while it writes, and that must neither lose the row nor the panel's end.
    settling = asyncio.ensure_future(_settle(completion, outbox, saved))
    while not settling.done():
        try:
            await asyncio.shield(settling)
        except asyncio.CancelledError:
            continue


async def _settle(completion: Completion, outbox: Outbox, saved: Awaitable[Any] | None) -> None:
    """Write a finished request's row (after its run's rows) and queue its final frame."""
    code = str(completion.code)
    if saved is not None:
        try:
            # Shielded: the run's rows are one write that every panel of the run waits on.
            await asyncio.shield(saved)
        except Exception:
            log.exception("could not log run %s", completion.run.code)
            outbox.frame(
                {
                    "type": "completion.error",
                    "completion": code,
                    "status": None,
                    "code": "log_failed",
                    "message": "The playground could not write this request to its log (database error).",
                    "retry_after": None,
                }
            )
            return
    await writes.write_batched(save_finished, completion, what="finished request(s)")
    outbox.frame(await final_frame(completion))


def redact_row(completion: Completion, token: str) -> None:
    """A second belt, once per request: the client already scrubs the token from all it yields."""
    redact = Redactor(token)
    completion.output_text = redact.text(completion.output_text)
    completion.reasoning_text = redact.text(completion.reasoning_text)
    completion.tool_calls = [{key: redact.text(value) for key, value in call.items()} for call in completion.tool_calls]
    completion.error_code = redact.message(completion.error_code)
    completion.error_message = redact.message(completion.error_message)
    completion.request_id = redact.message(completion.request_id)
    completion.rate_limit = redact.value(completion.rate_limit)
    completion.usage_raw = redact.value(completion.usage_raw)


# What a blind run's final frames leave out until the vote: what names the model or tells it
# (its notes, its price and cost, the gateway's words on an error, which may name it).
BLIND_HIDDEN = ("notes", "price_source", "cost_lines", "cost", "cost_source", "code")
BLIND_ERROR = "This answer failed; what the gateway said shows after your vote."


async def final_frame(completion: Completion) -> Frame:
    """The `completion.done` or `completion.error` frame of a finished request."""
    frame = _final_frame(completion)
    if frame["type"] == "completion.done":
        # Rendered in a process of its own (rendering.render_off_loop): None leaves the plain text.
        frame["html"] = await render_off_loop(completion.output_text)
    if completion.blind:
        for key in BLIND_HIDDEN:
            frame.pop(key, None)
        if "message" in frame:
            frame["message"] = BLIND_ERROR
    return frame


def _final_frame(completion: Completion) -> Frame:
    cost = None if completion.cost is None else str(completion.cost)
    if completion.status == Completion.Status.ERROR:
        return {
            "type": "completion.error",
            "completion": str(completion.code),
            "status": completion.http_status,
            "code": completion.error_code,
            "message": completion.error_message,
            "retry_after": completion.retry_after,
            "partial_text": completion.output_text,
            "cost": cost,
            "cost_source": completion.cost_source,
        }
    return {
        "type": "completion.done",
        "completion": str(completion.code),
        "status": completion.status,
        "finish_reason": completion.finish_reason or None,
        "usage": _usage_frame(completion) if completion.usage_raw else None,
        "cost": cost,
        "cost_source": completion.cost_source,
        "ttft_ms": completion.ttft_ms,
        "latency_ms": completion.latency_ms,
        "tokens_per_s": completion.tokens_per_s,
        "notes": completion.notes,
        "price_source": (completion.price or {}).get("source"),
        "cost_lines": completion.cost_lines,
        "html": None,  # final_frame renders it
        "schema": _schema_check(completion),
        "tool_calls": tool_calls_frame(completion),
    }


def tool_calls_frame(completion: Completion) -> list[Frame] | None:
    """The answer's tool calls, whole, each with whether its arguments are JSON that fits the
    parameters of the tool it names; None when it called none."""
    if not completion.tool_calls:
        return None
    checks = schemas.check_tool_calls((completion.run.params or {}).get("tools"), completion.tool_calls)
    return [
        {"index": n, **call, "check": check}
        for n, (call, check) in enumerate(zip(completion.tool_calls, checks, strict=True))
    ]


def _schema_check(completion: Completion) -> dict | None:
    """Whether the answer fits the run's JSON schema (structured output), or None without one."""
    schema = (completion.run.params or {}).get("response_schema")
    if schema is None or completion.status != Completion.Status.OK:
        return None
    return schemas.check_output(schema, completion.output_text)


def _usage_frame(completion: Completion) -> Frame:
    return {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "cached_tokens": completion.cached_tokens,
        "reasoning_tokens": completion.reasoning_tokens,
    }


def save_finished(completions: list[Completion]) -> None:
    """Write finished requests' rows (those that ended together: see writes.write_batched)."""
    # One transaction with the receivers' writes (the rollup): a write retried after a database
    # outage never counts a request twice.
    with transaction.atomic():
        _write_results(completions)
        # The usage app keeps its rollup (and live pages, metrics) from this.
        completions_finished.send(sender=Completion, completions=completions)


def _write_results(completions: list[Completion]) -> None:
    """The rows' RESULT_FIELDS, the statement compiled once (see playground.rows)."""
    rows.update(Completion, completions, Completion.RESULT_FIELDS)
