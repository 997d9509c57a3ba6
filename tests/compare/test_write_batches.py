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


def comparable(prepared):
    # psycopg's JSON wrapper (Jsonb) does not compare by value: its type and what it wraps do.
    return type(prepared), getattr(prepared, "obj", prepared)


@pytest.mark.django_db
def test_the_fast_field_preparation_gives_the_driver_what_django_would():
    from datetime import UTC, datetime
    from decimal import Decimal

    from django.db import connection

    from playground.compare.models import Completion

    samples = [
        None, "", "text ✓", 0, 7, 2**40, 1.5, True, Decimal("0.0001234567"), datetime(2026, 12, 2, 5, 30, tzinfo=UTC),
        {"prompt_tokens": 3, "nested": [1, "two"]}, [], [{"id": "call_1"}], "0.5", "12",
    ]  # fmt: skip
    fields = [f for f in Completion._meta.concrete_fields if not f.primary_key]
    preps = writes.prep_functions(fields, connection)
    compared = 0
    for field, prep in zip(fields, preps, strict=True):
        for value in samples:
            try:
                expected = field.get_db_prep_save(value, connection)
            except Exception as exc:  # a value this field cannot take at all: the same error
                with pytest.raises(type(exc)):
                    prep(value)
                continue
            assert comparable(prep(value)) == comparable(expected), (field.name, value)
            compared += 1
    assert compared > 200
