"""Row writes that outlive a database outage.

The relay writes a request's rows twice: when the run starts (the run and one `streaming`
row per model) and when each request ends. `write()` tries once, in the database thread;
`write_batched()` puts writes that arrive while one is under way into one (runs that start
together, requests that end together).
When the database cannot be reached (`OperationalError`, `InterfaceError`), the write is
queued in memory and the stream carries on: the browser gets its frames, and one task
retries the queued writes in order, with backoff, until the database answers again, for at
most RUN_DB_RETRY_SECONDS. Writes made while others wait join the queue behind them, so a
request's final row is never written before its run.

A retried write must be safe to repeat: each one is a single transaction (the final row
and its rollup together), so a failed attempt leaves nothing behind. One log line when the
outage starts, one when the queued rows have landed.

A write that lost to another transaction (PostgreSQL's deadlock or serialization failure,
SQLSTATE 40P01 and 40001) reached the database: it is not an outage. It is tried again at once, a
few times, after a short random pause, and logged as the conflict it was; only if it keeps
losing does it join the queue.
"""

import asyncio
import logging
import random
import time
from collections import deque
from contextvars import ContextVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

log = logging.getLogger(__name__)

UNREACHABLE = (OperationalError, InterfaceError)
FIRST_DELAY = 0.25
MAX_DELAY = 5.0
# A write that lost to a concurrent transaction: how often it is tried again at once, and the
# longest random pause before each try (seconds; random, so two losers do not meet again).
CONFLICTS = ("40P01", "40001")  # deadlock detected, serialization failure
CONFLICT_RETRIES = 3
CONFLICT_PAUSE = 0.05

# In the database thread, during a write: the event loop that awaits it. What the write's
# receivers do once it commits and that belongs in the loop (announcing to live pages) is handed
# to that loop, not waited for: the database thread, which every run start and write of the
# process shares, goes on with the next write.
writing_loop: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar("writing_loop", default=None)

_queue = deque()  # (function, args, what, queued at, count)
_task = None
_down_since = None


def _attempt(function, args, what, loop=None):
    writing_loop.set(loop)  # this call's own context (sync_to_async runs it in a copy)
    for retry in range(CONFLICT_RETRIES + 1):
        # After a failure Django keeps the broken connection; drop it so the next query reconnects.
        for connection in connections.all(initialized_only=True):
            connection.close_if_unusable_or_obsolete()
        try:
            function(*args)
            return
        except OperationalError as exc:
            if not _conflict(exc) or retry == CONFLICT_RETRIES:
                raise
            log.warning(
                "Writing %s lost to a concurrent transaction (%s); trying again (%d of %d)",
                what,
                _first_line(exc),
                retry + 1,
                CONFLICT_RETRIES,
            )
            time.sleep(random.uniform(0, CONFLICT_PAUSE))


def _conflict(exc):
    """A deadlock or serialization failure: the database answered, and another try may pass."""
    return getattr(exc.__cause__, "sqlstate", None) in CONFLICTS


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no message"


async def write(function, *args, what, count=1):
    """Run `function(*args)` (a database write) now, or queue it while the database is away.

    True when written now, False when queued. Other errors propagate as they are. `count`:
    how many writes this one stands for (a batch of finished requests), for `pending()` and
    the log.
    """
    if not _queue:
        try:
            await sync_to_async(_attempt)(function, args, what, asyncio.get_running_loop())
            return True
        except UNREACHABLE as exc:
            _outage(exc)
    _queue.append((function, args, what, time.monotonic(), count))
    _ensure_retrying()
    return False


# Requests often end together (a run's panels, many runs under load): their final rows go in
# one transaction, one rollup statement (playground/rows.py), one live-page announcement per team.
BATCH_MAX = 200


class _Batch:
    """Calls of `function(items)`: what arrives while one call is being written goes in the next.

    The first item is written after `gather` seconds (at once by default), with whatever arrived
    meanwhile, and the items that arrive during that write go together in the next call.
    """

    def __init__(self, function, what):
        self.function = function
        self.what = what
        self.gather = 0.0
        self.items = []  # (item, future)
        self.task = None

    async def add(self, item):
        future = asyncio.get_running_loop().create_future()
        self.items.append((item, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self):
        if self.gather:
            await asyncio.sleep(self.gather)
        while self.items:
            taken, self.items = self.items[:BATCH_MAX], self.items[BATCH_MAX:]
            try:
                result = await write(
                    self.function, [item for item, _ in taken], what=f"{len(taken)} {self.what}", count=len(taken)
                )
            except Exception as exc:
                if len(taken) == 1:
                    _resolve(taken[0][1], error=exc)
                    continue
                # One bad item must not cost the others their rows: each goes again alone.
                for item, future in taken:
                    try:
                        _resolve(future, result=await write(self.function, [item], what=self.what))
                    except Exception as alone:
                        _resolve(future, error=alone)
                continue
            for _, future in taken:
                _resolve(future, result=result)


def _resolve(future, result=None, error=None):
    if future.done():  # its waiter was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


_batches = {}  # (function, event loop) -> _Batch


async def write_batched(function, item, *, what, gather=0.0):
    """`write(function, [item, ...])`, with the items of other callers that arrive meanwhile
    (and, with `gather`, in that many seconds before the first write).

    Returns what `write` returned for the batch; raises what it raised for this item alone.
    """
    key = (function, asyncio.get_running_loop())
    batch = _batches.get(key)
    if batch is None:
        for stale in [k for k in _batches if k[1].is_closed()]:
            del _batches[stale]
        batch = _batches[key] = _Batch(function, what)
    batch.gather = gather  # the caller's, not the first caller's (a setting may have changed)
    return await batch.add(item)


def pending():
    """How many writes wait for the database."""
    return sum(entry[4] for entry in _queue)


def _outage(exc):
    global _down_since
    if _down_since is None:
        _down_since = time.monotonic()
        log.warning(
            "Database unreachable (%s: %s): streaming goes on; finished rows wait in memory and are "
            "retried for up to %.0f s",
            type(exc).__name__,
            _first_line(exc),
            settings.RUN_DB_RETRY_SECONDS,
        )


def _ensure_retrying():
    global _task
    loop = asyncio.get_running_loop()
    if _task is None or _task.done() or _task.get_loop() is not loop:
        _task = loop.create_task(_retry())


async def _retry():
    global _down_since
    delay = FIRST_DELAY
    landed = dropped = 0
    while _queue:
        function, args, what, queued, count = _queue[0]
        try:
            await sync_to_async(_attempt)(function, args, what, asyncio.get_running_loop())
        except UNREACHABLE:
            if time.monotonic() - queued > settings.RUN_DB_RETRY_SECONDS:
                _queue.popleft()
                dropped += count
                log.error(
                    "Gave up writing %s: the database was unreachable for %.0f s", what, time.monotonic() - queued
                )
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
            continue
        except Exception:
            _queue.popleft()
            dropped += count
            log.exception("Could not write %s after the database came back", what)
            continue
        _queue.popleft()
        landed += count
        delay = FIRST_DELAY
    if _down_since is not None:
        log.warning(
            "Database back after %.1f s: %d queued row write(s) landed, %d given up",
            time.monotonic() - _down_since,
            landed,
            dropped,
        )
        _down_since = None


async def drain(within):
    """Wait up to `within` seconds for queued writes (at shutdown). True when none is left."""
    if _task is None or _task.done():
        return not _queue
    try:
        await asyncio.wait_for(asyncio.shield(_task), within)
    except TimeoutError:
        log.error("Shutting down with %d row write(s) the database never took", pending())
        return False
    return True
