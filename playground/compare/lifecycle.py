"""Nothing lost when a server process stops: live answers, checkpoint, heartbeat, shutdown, sweep.

- The relay registers each answer while it streams (`track`): its task and a way to read
  its text so far. Nothing here runs per chunk.
- Every RUN_CHECKPOINT_SECONDS one task writes the text of every live answer that grew,
  in one UPDATE, and beats this process's heartbeat (a ServerProcess row: pid, host). A
  SIGKILL loses at most the text of the last few seconds.
- daphne stops the Twisted reactor on SIGTERM and SIGINT; the reactor first runs its
  "before shutdown" triggers and waits for the Deferreds they return (daphne's own trigger
  cancels the socket consumers). Ours cancels every live answer, marking the process as
  stopping, so each relay writes its row `interrupted` with its partial text (cost estimated,
  rollup updated) the way a stop does; it waits up to RUN_SHUTDOWN_GRACE_SECONDS, writes any
  answer still open in one UPDATE, and sends each open socket a close frame (4012, "server
  restarting": daphne sends only 1000 or 3000-4999).
- At start, and about every minute, `sweep` marks `interrupted` the `streaming` rows of
  processes that are gone (stopped, pid gone from this host, or heartbeat older than
  RUN_HEARTBEAT_TIMEOUT), never those of a live process.
"""

import asyncio
import contextlib
import logging
import os
import sys
import time
import uuid
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from gateway.client import GatewayError
from playground.http import gateway_client

from . import rendering, runs, writes
from .models import THIS_PROCESS, Completion, ServerProcess
from .run_frame import prompt_text
from .signals import completions_finished

log = logging.getLogger(__name__)

# The close code sent to every open socket when the server stops (the Compare page says the
# server is restarting). Standard 1012 "service restart" is not one daphne lets a server send.
CLOSE_RESTARTING = 4012
INTERRUPTED_MESSAGE = "The server stopped while this request was streaming; the text is what had arrived."
SWEEP_EVERY = 60.0

_live = {}  # completion code -> [task, texts() -> (output, reasoning), length last written]
_sockets = set()  # ASGI send callables of open websockets
_stopping = False
_task = None


# --- The relay's side ---------------------------------------------------------------------


def track(code, texts):
    """Register the current task as the live answer `code`; `texts()` returns (output, reasoning).

    Forgotten when the task ends.
    """
    task = asyncio.current_task()
    _live[code] = [task, texts, 0]
    task.add_done_callback(lambda t: _ended(code, t))
    if _stopping:
        task.cancel()


def _ended(code, task):
    """A relay that ends normally has written its row (or queued it, or told the browser it
    could not). One that raised, or was cancelled while writing, has not: its row is marked
    `interrupted` with its text so far, rather than left `streaming`."""
    entry = _live.pop(code, None)
    failure = "cancelled while writing" if task.cancelled() else task.exception()
    if failure is None or entry is None:
        return
    log.error("The relay of request %s ended without writing its row (%r); marking it interrupted", code, failure)
    output, reasoning = entry[1]()
    asyncio.ensure_future(
        writes.write(_write_interrupted_now, [(code, output, reasoning)], what=f"interrupted request {code}")
    )


def stopping():
    """True once the server is shutting down: a cancelled answer is then `interrupted`."""
    return _stopping


# --- Checkpoint and heartbeat -------------------------------------------------------------


def _changed():
    """(code, output, reasoning) of the live answers whose text grew since last written."""
    rows = []
    for code, entry in list(_live.items()):
        output, reasoning = entry[1]()
        size = len(output) + len(reasoning)
        if size != entry[2]:
            rows.append((code, output, reasoning, entry))
    return rows


def write_texts(rows):
    """Each live answer's text so far, only while its row streams: one UPDATE run for every row
    (executemany). The ORM's form of it, one UPDATE with a CASE of every row, cost ~30 ms of
    Python for 150 answers (compiling the CASE), in a thread that held the event loop's GIL
    while every stream waited; this costs ~1 ms."""
    connection = connections[router.db_for_write(Completion)]
    quote = connection.ops.quote_name
    meta = Completion._meta
    code, status = meta.get_field("code"), meta.get_field("status")
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {quote(meta.get_field('output_text').column)} = %s, "
        f"{quote(meta.get_field('reasoning_text').column)} = %s "
        f"WHERE {quote(code.column)} = %s AND {quote(status.column)} = %s"
    )
    streaming = status.get_db_prep_value(Completion.Status.STREAMING, connection)
    params = [
        (output, reasoning, code.get_db_prep_value(uuid.UUID(str(key)), connection), streaming)
        for key, output, reasoning in rows
    ]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.executemany(sql, params)
        return cursor.rowcount


def beat():
    """This process's heartbeat; its row is (re)written if missing."""
    now = timezone.now()
    if not ServerProcess.objects.filter(code=THIS_PROCESS).update(heartbeat=now, stopped=None):
        ServerProcess.objects.create(
            code=THIS_PROCESS, host=ServerProcess.this_host(), pid=os.getpid(), started=now, heartbeat=now
        )


async def checkpoint():
    """Write the live answers' text (one statement) and beat. Returns rows written."""
    rows = _changed()
    written = 0
    if rows:
        written = await sync_to_async(write_texts)([(code, output, reasoning) for code, output, reasoning, _ in rows])
        for _code, output, reasoning, entry in rows:
            entry[2] = len(output) + len(reasoning)
    await sync_to_async(beat)()
    return written


async def _run():
    """Register this process, sweep, then checkpoint and beat every RUN_CHECKPOINT_SECONDS."""
    last_sweep = None
    failing = False
    while True:
        try:
            if last_sweep is None or time.monotonic() - last_sweep > SWEEP_EVERY:
                await sync_to_async(beat)()
                count = await sync_to_async(sweep)()
                last_sweep = time.monotonic()
                if count:
                    log.warning("Marked %d request(s) of stopped server processes as interrupted", count)
            await asyncio.sleep(settings.RUN_CHECKPOINT_SECONDS)
            await checkpoint()
            if failing:
                log.info("Checkpoint and heartbeat written again")
            failing = False
        except DatabaseError as exc:
            # An outage: the rows wait (see writes.py); the next tick tries again.
            if not failing:
                first_line = (str(exc).strip().splitlines() or ["no message"])[0]
                log.warning(
                    "Checkpoint and heartbeat failed (%s: %s); retrying every tick", type(exc).__name__, first_line
                )
            failing = True
            await asyncio.sleep(settings.RUN_CHECKPOINT_SECONDS)


def start():
    """Start this process's checkpoint, heartbeat and sweep task (in the running event loop)."""
    global _task
    loop = asyncio.get_running_loop()
    if _task is None or _task.done() or _task.get_loop() is not loop:
        _task = loop.create_task(_run())
        rendering.warm()
        # The pool and its TLS context (the system's certificates, read once: ~40 ms) are made
        # now, not in the first run, where the loop would stall every stream for them.
        gateway_client()
    return _task


# --- The sweep and mark_interrupted -------------------------------------------------------


def mark_interrupted(rows, finished=None):
    """Mark these `streaming` rows `interrupted`, keeping their text, with an estimated cost,
    and add each to the daily rollup. A row that ended meanwhile is left alone (counted once).
    Returns how many were marked."""
    now = timezone.now()
    finished = finished or {}
    count = 0
    for completion in rows.filter(status=Completion.Status.STREAMING).select_related("run").iterator():
        # What the checkpoint saved is all there is; no usage came, so the cost is estimated.
        completion.plan({})
        completion.text_parts = [completion.output_text]
        completion.reasoning_parts = [completion.reasoning_text]
        completion.apply_result(
            Completion.Status.INTERRUPTED,
            GatewayError(None, "interrupted", INTERRUPTED_MESSAGE),
            prompt_text=prompt_text(completion.run.messages),
        )
        completion.finished = max(finished.get(completion.process) or now, completion.started)
        with transaction.atomic():
            # Conditional on the status, so two sweeps (or a sweep and the relay) never count a row twice.
            if Completion.objects.filter(pk=completion.pk, status=Completion.Status.STREAMING).update(
                **{name: getattr(completion, name) for name in Completion.RESULT_FIELDS}
            ):
                completions_finished.send(sender=Completion, completions=[completion])
                count += 1
    return count


def sweep():
    """Mark `interrupted` the `streaming` rows no live process is writing. Returns how many.

    A row belongs to a gone process (pid gone from this host, stopped, or silent longer than
    RUN_HEARTBEAT_TIMEOUT); or to a process that never recorded itself, once the row is older
    than the heartbeat timeout; or, for rows written before processes were recorded, to
    nobody, once older than RUN_STALE_SECONDS. Rows of this process and of live ones stay.
    """
    now = timezone.now()
    timeout = settings.RUN_HEARTBEAT_TIMEOUT
    processes = list(ServerProcess.objects.all())
    gone = {p.code: p.heartbeat for p in processes if p.code != THIS_PROCESS and p.is_gone(now, timeout)}
    known = [p.code for p in processes]
    rows = Completion.objects.filter(
        Q(process__in=list(gone))
        | (Q(process__isnull=False) & ~Q(process__in=known) & Q(started__lt=now - timedelta(seconds=timeout)))
        | Q(process__isnull=True, started__lt=now - timedelta(seconds=settings.RUN_STALE_SECONDS))
    ).exclude(process=THIS_PROCESS)
    count = mark_interrupted(rows, finished=gone)
    # Their rows are all ended now: forget the processes.
    ServerProcess.objects.filter(code__in=list(gone)).delete()
    return count


# --- Shutdown -----------------------------------------------------------------------------


def _write_interrupted_now(rows):
    """Shutdown's last resort for answers whose relay did not end within the grace: their text
    in one UPDATE, then marked `interrupted` like a gone process's rows."""
    write_texts(rows)
    return mark_interrupted(Completion.objects.filter(code__in=[code for code, *_ in rows]))


def _stopped():
    ServerProcess.objects.filter(code=THIS_PROCESS).update(stopped=timezone.now())


async def shutdown(grace=None):
    """Write every live answer `interrupted` with its partial text and close the sockets."""
    global _stopping
    _stopping = True
    grace = settings.RUN_SHUTDOWN_GRACE_SECONDS if grace is None else grace
    deadline = time.monotonic() + grace
    sockets = list(_sockets)
    tasks = [entry[0] for entry in _live.values()]
    if _task is not None:
        _task.cancel()
    runs.stop_keeping_warm()
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=grace)
    left = [(code, *entry[1]()) for code, entry in list(_live.items())]
    marked = 0
    try:
        if left:
            marked = await sync_to_async(_write_interrupted_now)(left)
        await writes.drain(within=max(0.1, deadline - time.monotonic()))
        await sync_to_async(_stopped)()
    except DatabaseError:
        log.exception("Could not write the interrupted requests at shutdown; the next start marks them")
    log.warning(
        "Shutting down: %d streaming request(s) written as interrupted (%d after the grace), %d socket(s) closed",
        len(tasks),
        marked,
        len(sockets),
    )
    # The relays' last frames go out before the close frames.
    await asyncio.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    for send in sockets:
        # A socket that is already gone needs no close frame.
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": CLOSE_RESTARTING})
    # Let the reactor write the close frames before it disconnects everything.
    await asyncio.sleep(0.05)


class TrackSockets:
    """ASGI middleware: remembers each open websocket's `send`, to close it at shutdown."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        _sockets.add(send)
        try:
            return await self.app(scope, receive, send)
        finally:
            _sockets.discard(send)


def install():
    """Hook this process's lifecycle into daphne's Twisted reactor (nothing under another server).

    Called from asgi.py, which daphne imports before it runs the reactor.
    """
    if "twisted.internet.reactor" not in sys.modules:
        return False
    from twisted.internet import defer, reactor

    def on_shutdown():
        return defer.Deferred.fromFuture(asyncio.ensure_future(shutdown()))

    # The startup triggers fire before the asyncio loop runs; callLater runs inside it.
    reactor.callWhenRunning(reactor.callLater, 0, start)
    reactor.addSystemEventTrigger("before", "shutdown", on_shutdown)
    return True
