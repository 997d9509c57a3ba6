from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from asgiref.sync import async_to_sync
from django.db.models import QuerySet, Sum

from playground.compare.models import Completion
from playground.usage.models import UsageDaily
from playground.usage.rollup import arecord, record

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_requests_of_one_day_and_model_add_up_in_one_row(finish, team, alice):
    finish(started=NOON, prompt_tokens=100, completion_tokens=20, cost=Decimal("0.000065"))
    finish(started=NOON, prompt_tokens=50, completion_tokens=5, cost=Decimal("0.0000100001"))
    row = UsageDaily.objects.get()
    assert (row.team, row.user, row.day, row.model) == (team, alice, NOON.date(), "gpt-5-mini")
    assert row.requests == 2
    assert row.errors == 0
    assert row.prompt_tokens == 150
    assert row.completion_tokens == 25
    assert row.cost == Decimal("0.0000750001")


def test_another_day_or_model_gets_its_own_row(finish):
    finish(started=NOON)
    finish(started=NOON.replace(day=21))
    finish(started=NOON, model="claude-sonnet-4-6")
    assert UsageDaily.objects.count() == 3


def test_errors_unpriced_and_estimated_requests_are_counted(finish):
    finish(
        started=NOON,
        status=Completion.Status.ERROR,
        http_status=429,
        prompt_tokens=None,
        completion_tokens=None,
        cost=None,
        cost_source="",
    )
    finish(started=NOON, cost=None, cost_source=Completion.CostSource.UNPRICED)
    finish(started=NOON, cost=Decimal("0.001"), cost_source=Completion.CostSource.ESTIMATED)
    # One row per status and cost source, so the Usage filters apply to the rollup.
    assert UsageDaily.objects.count() == 3
    row = UsageDaily.objects.aggregate(
        requests=Sum("requests"),
        errors=Sum("errors"),
        unpriced=Sum("unpriced"),
        estimated=Sum("estimated"),
        prompt_tokens=Sum("prompt_tokens"),
        cost=Sum("cost"),
    )
    row = SimpleNamespace(**row)
    assert row.requests == 3
    assert row.errors == 1
    assert row.unpriced == 1
    assert row.estimated == 1
    assert row.prompt_tokens == 200
    assert row.cost == Decimal("0.001")


def test_a_streaming_request_is_not_recorded(finish):
    completion = finish(started=NOON, status=Completion.Status.STREAMING, record_it=False)
    with pytest.raises(ValueError):
        record(completion)
    assert not UsageDaily.objects.exists()


def test_a_row_inserted_concurrently_is_found_on_the_retry(finish, monkeypatch):
    completion = finish(started=NOON, record_it=False)
    other = finish(started=NOON, record_it=False)
    real_update = QuerySet.update
    calls = []

    record(other)

    def racing_update(self, **kwargs):
        if self.model is UsageDaily and not calls:
            # Our UPDATE ran before the other request's INSERT committed: it matched nothing.
            calls.append(1)
            return 0
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", racing_update)
    record(completion)
    assert calls == [1]
    row = UsageDaily.objects.get()
    assert row.requests == 2
    assert row.prompt_tokens == 200


def test_arecord_records_from_async_code(finish):
    completion = finish(started=NOON, record_it=False)
    async_to_sync(arecord)(completion)
    assert UsageDaily.objects.get().requests == 1


def test_a_batch_updates_its_rollup_rows_in_one_order_whatever_the_order_it_came_in(finish, bob, monkeypatch):
    """Two server processes write their batches at once: each locks the rollup rows it shares
    with the other in the same order, so one waits instead of both deadlocking."""
    from playground.usage import rollup

    completions = [
        finish(started=NOON, model=model, user=user, record_it=False, status=status)
        for model in ("gpt-5-mini", "claude-sonnet-4-6", "gemini-2-5-pro")
        for user in (bob, None)
        for status in (Completion.Status.OK, Completion.Status.ERROR)
    ]
    orders = []
    for batch in (completions, completions[::-1], completions[3:] + completions[:3]):
        keys = []
        monkeypatch.setattr(rollup, "_add", lambda key, amounts, keys=keys: keys.append(tuple(key.items())))
        rollup.record_many(batch)
        orders.append(keys)
    assert len(orders[0]) == 12
    assert orders[0] == orders[1] == orders[2]
