"""Finished requests that end together are written together (writes.write_batched)."""

import asyncio
import threading

import pytest

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
