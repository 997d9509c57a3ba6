"""`/ws/compare/`: the browser's socket for side-by-side runs.

`receive_json` never awaits a stream: Channels handles one message at a time, so a
stop or a disconnect would otherwise wait for the whole answer. Each model's stream is
a task kept in `self.tasks`; disconnect cancels and awaits them all.

Whatever fails, the streams do not outlive the socket: a frame that breaks its handler
gets an `error` frame, any other failure closes the socket, and every way out (disconnect,
a close by the server, the server cancelling the consumer) cancels every stream and
waits for each to write its row.
"""

import asyncio
import json
import logging
import time

import orjson
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404

from . import runs, writes
from .relay import Outbox, relay_completion
from .run_frame import RunError, parse_run_frame

log = logging.getLogger(__name__)


# Close codes the server uses (a server may send 1000 or 3000-4999). README.md lists them.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FLOOD = 4008  # more frames a second than WS_MAX_FRAMES_PER_SECOND
CLOSE_TOO_LARGE = 4009  # a frame larger than RUN_MAX_MESSAGE_BYTES
CLOSE_SERVER_ERROR = 4011  # the server failed; the socket's runs were stopped and logged
CLOSE_NOT_READING = 4013  # more than WS_MAX_UNACKED_FRAMES frames unacknowledged


class FrameBudget:
    """A token bucket: `rate` frames a second on average, bursts of twice that."""

    def __init__(self, rate):
        self.rate = rate
        self.burst = self.tokens = 2 * rate
        self.at = time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def start_now(coroutine):
    """A task that runs at once, up to its first wait, instead of after everything already
    queued in the loop (asyncio's eager start). Runs that arrive together (several sockets'
    frames read in one turn of the loop) then each send their requests in turn, instead of all
    preparing first and all sending after: at 10 runs the added time to first token was 2.1 and
    0.5 ms against 2.7 and 3.9 without, in the same hour (bench/relay.py)."""
    return asyncio.Task(coroutine, loop=asyncio.get_running_loop(), eager_start=True)


def refusal(exc):
    """What the user is told when a run cannot start."""
    if isinstance(exc, Http404):
        return "No such branch."
    if isinstance(exc, ValidationError):
        return f"This branch's base URL is refused: {' '.join(exc.messages)}"
    return str(exc)


class CompareConsumer(AsyncJsonWebsocketConsumer):
    tasks: dict = {}  # completion code -> task (per instance once connected)
    waiters: set = set()  # one per run: holds its slot, starts its streams, sends run.done
    outbox = None
    closing = False
    closer = None  # the task closing the socket when the outbox overflows
    # No channel-layer messages come to this socket. With a layer, Channels keeps a blocking
    # read open for each socket (channels-redis: one BZPOPMIN per socket, 300 sockets, 300
    # reads on Redis) and races it against every websocket message.
    channel_layer_alias = None

    @classmethod
    async def encode_json(cls, content):
        # Every frame a stream sends goes through here: orjson costs ~0.3 us a delta frame
        # against ~4 us for json.dumps. Text frames are str, so the bytes are decoded back.
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS).decode()

    async def __call__(self, scope, receive, send):
        # Frames are taken from the server by `admit` as fast as they arrive, so a flood is
        # counted (and cut) at once: Channels dispatches one message per loop turn, while
        # daphne queues every frame it reads, unbounded.
        self.budget = FrameBudget(settings.WS_MAX_FRAMES_PER_SECOND)
        admitted = asyncio.Queue()
        reader = asyncio.create_task(self.admit(receive, admitted))
        # What Channels' AsyncConsumer.__call__ does, without its task and asyncio.wait() per
        # message (it waits on the socket and a channel layer at once; this consumer has no
        # layer): each message `admit` queued is dispatched in turn.
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await admitted.get())
        except StopConsumer:
            pass
        finally:
            reader.cancel()
            # Also when the server cancels the consumer or it failed: no stream outlives it.
            await self.stop_everything()
            if self.closer is not None:
                await asyncio.gather(self.closer, return_exceptions=True)
            await asyncio.gather(reader, return_exceptions=True)

    async def admit(self, receive, admitted):
        """Pass the server's messages on, except frames past the budget or after a close
        (dropped, so a flood costs no more than reading it). An ack of new frames is applied
        here and is free: there can be no more of them than frames sent."""
        flooded = False
        while True:
            message = await receive()
            if message["type"] == "websocket.receive":
                if self.closing or flooded:
                    continue
                text = message.get("text")
                if text is not None and len(text) < 64 and '"ack"' in text and self.outbox is not None:
                    try:
                        frame = json.loads(text)
                    except ValueError:
                        frame = None
                    if isinstance(frame, dict) and frame.get("type") == "ack" and self.outbox.ack(frame.get("frames")):
                        continue
                if not self.budget.take():
                    flooded = True
                    message = {"type": "playground.flood"}
            await admitted.put(message)
            if message["type"] == "websocket.disconnect":
                return

    async def playground_flood(self, message):
        await self.abort(
            CLOSE_FLOOD, f"More than {settings.WS_MAX_FRAMES_PER_SECOND} frames a second; the socket is closed."
        )

    async def dispatch(self, message):
        try:
            # Channels' own dispatch first hops to the one shared database thread to close old
            # connections, for every frame (acks too), queued behind every other socket's
            # database work. This consumer reads and writes on threads that tidy their own
            # connections (runs.prepare_run, writes.write), so it calls the handler directly.
            handler = getattr(self, get_handler_name(message), None)
            if handler is None:
                raise ValueError(f"No handler for message type {message['type']}")
            await handler(message)
        except (StopConsumer, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("compare socket failed handling %s", message.get("type"))
            await self.abort(CLOSE_SERVER_ERROR, "The server failed; your runs were stopped and logged.")
            raise StopConsumer from None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.tasks = {}
        self.run_tasks = {}  # run code -> set of completion codes
        self.waiters = set()
        self.outbox = Outbox(
            self.send_json,
            limit=settings.WS_MAX_UNACKED_FRAMES,
            on_overflow=self.overflowed,
            coalesce=settings.RELAY_COALESCE_MS / 1000,
        )
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Decode here rather than in receive_json: a malformed frame gets an error frame,
        # and the socket stays open.
        if self.closing:
            return
        data = text_data if text_data is not None else bytes_data or b""
        limit = settings.RUN_MAX_MESSAGE_BYTES
        # Characters are at most as many as bytes: encode only when it can matter.
        if len(data) > limit or (len(data) * 4 > limit and isinstance(data, str) and len(data.encode()) > limit):
            await self.abort(CLOSE_TOO_LARGE, f"A frame may be at most {limit // 1024} KiB.")
            return
        content = None
        if text_data is not None:
            try:
                content = json.loads(text_data)
            except (ValueError, RecursionError):
                content = None
        if text_data is None:
            await self.send_error("Frames are JSON text.")
        elif content is None and text_data.strip() != "null":
            await self.send_error("That frame is not valid JSON.")
        else:
            try:
                await self.receive_json(content)
            except Exception:
                log.exception("compare socket: a %s frame failed", type(content).__name__)
                await self.send_error("The server could not handle that frame.")

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            await self.send_error("A frame is a JSON object with a type.")
            return
        kind = content.get("type")
        if kind == "run":
            await self.start_run(content)
        elif kind == "stop":
            self.stop(content)
        elif kind in ("retry", "add"):
            self.start_extension(content)
        elif kind == "ack":
            frames = content.get("frames")
            if not isinstance(frames, int) or isinstance(frames, bool) or frames < 0:
                await self.send_error("ack needs frames, the number of frames received.")
        elif kind == "ping":
            self.outbox.frame({"type": "pong"})
        elif isinstance(kind, str) and len(kind) <= 40:
            await self.send_error(f"Unknown frame type {kind!r}.")
        else:
            await self.send_error("Unknown frame type.")

    async def send_error(self, message, **extra):
        self.outbox.frame({"type": "error", "message": message, **extra})

    async def start_run(self, content):
        try:
            request = parse_run_frame(content)
        except RunError as exc:
            await self.send_error(str(exc))
            return
        # The run's whole life (its slot, the database hop, its streams, run.done) is one
        # task, so that receiving frames (a stop) never waits for the database. It starts now
        # (see `start_now`): its requests leave before the next socket's frame is read.
        task = start_now(self.drive_run(request))
        self.waiters.add(task)
        task.add_done_callback(self.waiters.discard)

    async def drive_run(self, request):
        try:
            with runs.run_slot(self.user.pk):
                try:
                    prepared = await runs.prepare_run(self.user, request)
                except (Http404, ValidationError) as exc:
                    raise RunError(refusal(exc)) from None
                await self.stream_run(prepared)
        except RunError as exc:
            await self.send_error(str(exc))
        except Exception:
            log.exception("a run of user %s failed", self.user.pk)
            await self.send_error("The run failed on the server; what it streamed is logged.")

    async def stream_run(self, prepared):
        run, completions = prepared.run, prepared.completions
        run_code = str(run.code)
        if prepared.blind:
            # Ids only: the vote's answer names the model of each (votes.details).
            started = [{"id": str(c.code)} for c in completions]
        else:
            started = [{"id": str(c.code), "model": c.model, "notes": c.notes} for c in completions]
        self.outbox.frame({"type": "run.started", "run": run_code, "blind": prepared.blind, "completions": started})
        # The rows are written while the streams wait for their first tokens; each stream waits
        # for them only when it ends and writes its own row. Written a moment later
        # (RUN_ROWS_GATHER_MS), with the other runs that start meanwhile: the database thread's
        # Python shares the GIL with the loop, and a burst of run starts would wait for it.
        saved = asyncio.ensure_future(
            writes.write_batched(
                runs.save_runs, (run, completions), what="new run(s)", gather=settings.RUN_ROWS_GATHER_MS / 1000
            )
        )
        codes = set()
        tasks = []
        for completion in completions:
            code = str(completion.code)
            task = start_now(relay_completion(completion, prepared.gateway, self.outbox, saved))
            self.tasks[code] = task
            codes.add(code)
            tasks.append(task)
            task.add_done_callback(lambda _t, c=code: self.tasks.pop(c, None))
        self.run_tasks[run_code] = codes
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self.run_tasks.pop(run_code, None)
            unfinished = [task for task in tasks if not task.done()]
            for task in unfinished:
                task.cancel()
            if unfinished:
                await asyncio.gather(*unfinished, return_exceptions=True)
        known = [c.cost for c in completions if c.cost is not None]
        self.outbox.frame(
            {
                "type": "run.done",
                "run": run_code,
                "cost": str(sum(known)) if known else None,
                # False when a panel's cost is unknown: the total is then a lower bound. A
                # panel refused before any output is known to cost nothing.
                "cost_complete": all(c.cost_known for c in completions),
            }
        )

    def start_extension(self, content):
        """`retry` (one panel again) or `add` (models added to a finished run): new requests
        on the same run, with its messages and parameters, announced by `completion.started`."""
        run_code = content.get("run")
        if not isinstance(run_code, str) or not run_code:
            self.outbox.frame({"type": "error", "message": f"{content['type']} needs a run."})
            return
        if content["type"] == "retry":
            model = content.get("model")
            models = [model] if isinstance(model, str) and model else None
        else:
            models = content.get("models")
        try:
            request = parse_run_frame({"branch": "-", "models": models, "messages": [{"role": "user", "content": "-"}]})
        except RunError as exc:
            self.outbox.frame({"type": "error", "message": str(exc)})
            return
        task = asyncio.create_task(self.drive_extension(run_code, request.models, content.get("replaces")))
        self.waiters.add(task)
        task.add_done_callback(self.waiters.discard)

    async def drive_extension(self, run_code, models, replaces):
        try:
            with runs.run_slot(self.user.pk):
                try:
                    prepared = await runs.prepare_extension(self.user, run_code, models)
                except Http404:
                    raise RunError("No such run.") from None
                except ValidationError as exc:
                    raise RunError(refusal(exc)) from None
                codes = self.run_tasks.setdefault(run_code, set())
                tasks = []
                for completion in prepared.completions:
                    code = str(completion.code)
                    frame = {
                        "type": "completion.started",
                        "run": run_code,
                        "completion": code,
                        "model": completion.model,
                        "notes": completion.notes,
                    }
                    if isinstance(replaces, str) and replaces:
                        frame["replaces"] = replaces
                    self.outbox.frame(frame)
                    task = asyncio.create_task(relay_completion(completion, prepared.gateway, self.outbox))
                    self.tasks[code] = task
                    codes.add(code)
                    tasks.append(task)
                    task.add_done_callback(lambda _t, c=code: self.tasks.pop(c, None))
                try:
                    await asyncio.gather(*tasks, return_exceptions=True)
                finally:
                    codes.difference_update(str(c.code) for c in prepared.completions)
                    if not codes:
                        self.run_tasks.pop(run_code, None)
        except RunError as exc:
            await self.send_error(str(exc))

    def stop(self, content):
        completion = content.get("completion")
        run = content.get("run")
        if isinstance(completion, str) and completion:
            task = self.tasks.get(completion)
            if task is not None:
                task.cancel()
            return
        if isinstance(run, str) and run:
            for code in self.run_tasks.get(run, ()):
                task = self.tasks.get(code)
                if task is not None:
                    task.cancel()
            return
        self.outbox.frame({"type": "error", "message": "stop needs a run or a completion."})

    async def disconnect(self, code):
        await self.stop_everything()

    def overflowed(self):
        """The outbox passed its bound: the client does not read (or ack) what it is sent."""
        self.closer = asyncio.create_task(
            self.abort(
                CLOSE_NOT_READING,
                f"More than {settings.WS_MAX_UNACKED_FRAMES} frames were not acknowledged; "
                "the socket is closed and its runs were stopped.",
            )
        )

    async def abort(self, code, reason):
        """Close the socket with a code and a reason, stopping and logging its runs."""
        if self.closing:
            return
        self.closing = True
        log.warning(
            "closing compare socket of user %s with %s (%s); stopping %s stream(s)",
            getattr(getattr(self, "user", None), "pk", None),
            code,
            reason,
            len(self.tasks),
        )
        # Every row is written before the close goes out.
        await self.stop_everything()
        # The reason also as a frame: not every server passes a close reason on.
        await self.send_json({"type": "error", "message": reason, "close": code})
        await self.close(code=code, reason=reason)

    async def stop_everything(self):
        """Cancel every stream and every run of this socket and wait for them: each stream
        writes its row as it ends. Safe to call more than once."""
        pending = [*self.tasks.values(), *self.waiters]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self.outbox is not None:
            await self.outbox.close()
