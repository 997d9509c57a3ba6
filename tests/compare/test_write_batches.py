"""Finished requests that end together are written together (writes.write_batched)."""

import asyncio
import logging
import threading

import pytest
from django.db import OperationalError

from playground.compare import writes

# writes.write tidies the thread's database connections before each attempt.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def recorder():
    calls = []
    gate = threading.Event()

    def save(items):
        gate.wait(5)
        if "bad" in items:
            raise ValueError("one bad row")
        calls.append(list(items))

    return save, calls, gate


async def test_items_that_arrive_during_a_write_go_together_in_the_next(recorder):
    save, calls, gate = recorder
    first = asyncio.create_task(writes.write_batched(save, "a", what="rows"))
    await asyncio.sleep(0.05)  # "a" is being written (the gate holds it)
    rest = [asyncio.create_task(writes.write_batched(save, item, what="rows")) for item in "bcd"]
    await asyncio.sleep(0.05)
    gate.set()
    assert await asyncio.gather(first, *rest) == [True] * 4
    assert calls == [["a"], ["b", "c", "d"]]


async def test_a_batch_that_gathers_waits_for_the_items_arriving_meanwhile_before_its_first_write(recorder):
    save, calls, gate = recorder
    gate.set()
    first = asyncio.create_task(writes.write_batched(save, "a", what="rows", gather=0.2))
    await asyncio.sleep(0.05)
    assert calls == []  # still gathering
    rest = [asyncio.create_task(writes.write_batched(save, item, what="rows", gather=0.2)) for item in "bc"]
    assert await asyncio.gather(first, *rest) == [True] * 3
    assert calls == [["a", "b", "c"]]


async def test_the_wait_to_gather_is_the_callers_even_on_a_batch_made_without_one(recorder):
    save, calls, gate = recorder
    gate.set()
    assert await writes.write_batched(save, "a", what="rows") is True
    assert calls == [["a"]]  # at once
    later = asyncio.create_task(writes.write_batched(save, "b", what="rows", gather=0.2))
    await asyncio.sleep(0.05)
    assert calls == [["a"]]  # now gathering
    assert await later is True
    assert calls == [["a"], ["b"]]


async def test_one_failing_item_costs_the_others_nothing(recorder):
    save, calls, gate = recorder
    first = asyncio.create_task(writes.write_batched(save, "a", what="rows"))
    await asyncio.sleep(0.05)
    good = asyncio.create_task(writes.write_batched(save, "b", what="rows"))
    bad = asyncio.create_task(writes.write_batched(save, "bad", what="rows"))
    await asyncio.sleep(0.05)
    gate.set()
    assert await first is True and await good is True
    with pytest.raises(ValueError, match="one bad row"):
        await bad
    # The batch of two failed; each went again alone.
    assert calls == [["a"], ["b"]]


def conflict(sqlstate):
    """What Django raises when PostgreSQL answers with this SQLSTATE: its OperationalError,
    caused by the driver's error."""
    import psycopg.errors

    cause = psycopg.errors.lookup(sqlstate)("deadlock detected")
    try:
        raise OperationalError("deadlock detected") from cause
    except OperationalError as exc:
        return exc


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
async def test_a_write_that_loses_to_another_transaction_is_tried_again_at_once(sqlstate, monkeypatch, caplog):
    calls = []

    def save(items):
        calls.append(list(items))
        if len(calls) == 1:
            raise conflict(sqlstate)

    monkeypatch.setattr(writes, "CONFLICT_PAUSE", 0.0)
    with caplog.at_level(logging.WARNING, logger="playground.compare.writes"):
        assert await writes.write(save, ["a"], what="the rows") is True  # written now, not queued
    assert calls == [["a"], ["a"]]
    assert writes.pending() == 0
    assert "Writing the rows lost to a concurrent transaction" in caplog.text
    assert "unreachable" not in caplog.text


async def test_a_write_that_keeps_losing_waits_in_the_queue_like_an_outage(monkeypatch, caplog):
    calls = []

    def save(items):
        calls.append(list(items))
        if len(calls) <= writes.CONFLICT_RETRIES + 1:
            raise conflict("40P01")

    monkeypatch.setattr(writes, "CONFLICT_PAUSE", 0.0)
    monkeypatch.setattr(writes, "FIRST_DELAY", 0.01)
    with caplog.at_level(logging.WARNING, logger="playground.compare.writes"):
        assert await writes.write(save, ["a"], what="the rows") is False
        assert await writes.drain(within=5)
    assert len(calls) == writes.CONFLICT_RETRIES + 2  # the retries, then the queue's next try
    assert writes.pending() == 0


async def test_an_unreachable_database_is_not_retried_at_once(monkeypatch):
    calls = []

    def save(items):
        calls.append(list(items))
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(writes, "FIRST_DELAY", 0.01)
    assert await writes.write(save, ["a"], what="the rows") is False  # queued
    assert len(calls) == 1
    assert await writes.drain(within=5)
    assert len(calls) == 2
