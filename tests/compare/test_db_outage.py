"""A database outage mid-stream: streaming goes on, the rows land when the database is back,
once each, with one log line when it goes and one when it is back.

The outage is injected where Django hands a statement to the database driver: every INSERT
and UPDATE raises OperationalError while it lasts (reads still work, so a run can start).
Everything above that, the relay's real save path and the retry, runs as in production.
"""

import asyncio
import logging

import pytest
from django.db import OperationalError
from django.db.backends import utils
from django.db.models import Sum

from playground.compare import writes
from playground.compare.models import Completion, Run
from playground.usage.models import UsageDaily
from tests.compare.test_consumer import connect, receive_until, run_frame, texts

pytestmark = [pytest.mark.django_db(transaction=True)]

PROMPT = "Say hello sim:interval_ms=20 sim:chunks=40"


@pytest.fixture
def outage(monkeypatch):
    """outage.on / outage.off: writes fail as if the database had gone away."""
    execute = utils.CursorWrapper._execute
    executemany = utils.CursorWrapper._executemany

    class Outage:
        down = False
        refused = 0

        def on(self):
            self.down = True

        def off(self):
            self.down = False

    state = Outage()

    def failing(self, sql, params, *ignored_wrappers):
        if state.down and sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            state.refused += 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(self, sql, params, *ignored_wrappers)

    def failing_many(self, sql, param_list, *ignored_wrappers):
        if state.down and sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            state.refused += 1
            raise OperationalError("server closed the connection unexpectedly")
        return executemany(self, sql, param_list, *ignored_wrappers)

    monkeypatch.setattr(utils.CursorWrapper, "_execute", failing)
    monkeypatch.setattr(utils.CursorWrapper, "_executemany", failing_many)
    monkeypatch.setattr(writes, "FIRST_DELAY", 0.05)
    monkeypatch.setattr(writes, "MAX_DELAY", 0.2)
    yield state
    state.off()


async def until(condition, what):
    for _ in range(1000):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


async def no_pending():
    return writes.pending() == 0


def outage_lines(caplog):
    lines = [r.getMessage() for r in caplog.records if r.name == "playground.compare.writes"]
    return [m for m in lines if m.startswith("Database unreachable")], [
        m for m in lines if m.startswith("Database back")
    ]


async def test_an_outage_mid_stream_loses_nothing_and_writes_each_row_once(alice, branch, outage, caplog):
    caplog.set_level(logging.WARNING)
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "claude-haiku-4-5"], PROMPT))
    frames = await receive_until(comm, lambda f: f["type"] == "run.started")
    codes = [c["id"] for c in frames[0]["completions"]]
    await until(lambda: Completion.objects.filter(code__in=codes).aexists(), "the rows are written")

    outage.on()
    frames += await receive_until(comm, lambda f: f["type"] == "run.done")
    # Streaming went on: both answers complete, both panels told they are done.
    done = {f["completion"]: f for f in frames if f["type"] == "completion.done"}
    assert set(done) == set(codes)
    assert {f["status"] for f in done.values()} == {"ok"}
    assert writes.pending() == 2
    assert outage.refused >= 1  # the two rows may go in one write (writes.write_batched)
    assert await Completion.objects.filter(code__in=codes, status="streaming").acount() == 2

    outage.off()
    await until(no_pending, "the queued rows land")
    await comm.disconnect()
    received = texts(frames)
    rows = [c async for c in Completion.objects.filter(run__code=frames[0]["run"])]
    assert len(rows) == 2
    for row in rows:
        assert row.status == Completion.Status.OK
        assert row.output_text == received[str(row.code)]
    rolled = await UsageDaily.objects.aaggregate(requests=Sum("requests"))
    assert rolled["requests"] == 2
    gone, back = outage_lines(caplog)
    assert len(gone) == 1 and "streaming goes on" in gone[0]
    assert len(back) == 1 and "2 queued row write(s) landed" in back[0]


async def test_a_run_that_starts_during_an_outage_is_written_when_it_ends(alice, branch, outage, caplog):
    caplog.set_level(logging.WARNING)
    comm, _ = await connect(alice)
    outage.on()
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "claude-haiku-4-5"], PROMPT))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    assert {f["status"] for f in frames if f["type"] == "completion.done"} == {"ok"}
    # The run and its rows, then each row's end: three writes wait, in order.
    assert writes.pending() == 3
    assert not await Run.objects.filter(code=frames[0]["run"]).aexists()

    outage.off()
    await until(no_pending, "the queued rows land")
    await comm.disconnect()
    assert await Run.objects.filter(code=frames[0]["run"]).acount() == 1
    rows = [c async for c in Completion.objects.filter(run__code=frames[0]["run"])]
    assert len(rows) == 2
    assert {r.status for r in rows} == {"ok"}
    assert {r.output_text for r in rows} == set(texts(frames).values())
    rolled = await UsageDaily.objects.aaggregate(requests=Sum("requests"))
    assert rolled["requests"] == 2
    gone, back = outage_lines(caplog)
    assert (len(gone), len(back)) == (1, 1)
