from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db.models import Sum
from django.utils import timezone

from playground import rows
from playground.compare.models import Completion
from playground.usage import rollup
from playground.usage.models import UsageDaily
from playground.usage.rollup import record

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TENTH = Decimal("1e-10")  # the precision of a cost


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


def test_requests_of_a_deleted_user_add_up_in_one_row(finish, django_assert_num_queries):
    # A key with a NULL is never matched by the upsert: an UPDATE finds it with IS NULL.
    record(finish(started=NOON, user=None, record_it=False))
    second = finish(started=NOON, user=None, record_it=False)
    with django_assert_num_queries(3):  # the savepoint, its release and the UPDATE
        record(second)
    row = UsageDaily.objects.get()
    assert (row.user, row.requests, row.prompt_tokens) == (None, 2, 200)


def test_a_batch_adds_to_its_rows_in_one_statement_whatever_rows_exist(finish, bob, django_assert_num_queries):
    first = [finish(started=NOON, model=model, record_it=False) for model in ("gpt-5-mini", "gpt-5-mini", "gpt-5")]
    with django_assert_num_queries(1):
        rollup.record_many(first)
    then = [
        finish(started=NOON, model=model, user=user, record_it=False)
        for model in ("gpt-5", "o3")
        for user in (bob, bob)
    ]
    with django_assert_num_queries(1):
        rollup.record_many(then)
    rows = {(row.model, row.user.username): row.requests for row in UsageDaily.objects.select_related("user")}
    assert rows == {("gpt-5-mini", "alice"): 2, ("gpt-5", "alice"): 1, ("gpt-5", "bob"): 2, ("o3", "bob"): 2}


def test_the_rollup_of_many_batches_is_the_rollup_rebuilt_from_the_log(finish, bob):
    """record_many over batches of every kind of request gives the same rows, to the last
    digit of cost, as rebuild() reading the whole log once."""
    import random

    chooser = random.Random(7)
    completions = []
    for n in range(120):
        status = chooser.choice(
            [
                Completion.Status.OK,
                Completion.Status.OK,
                Completion.Status.ERROR,
                Completion.Status.CANCELLED,
                Completion.Status.INTERRUPTED,
            ]
        )
        started = NOON + timezone.timedelta(hours=chooser.choice([0, 0, 13, 30]))
        completions.append(
            finish(
                started=started,
                model=chooser.choice(["gpt-5-mini", "claude-sonnet-4-6", "gemini-2-5-pro"]),
                user=chooser.choice([bob, None, bob, bob]),
                status=status,
                prompt_tokens=chooser.choice([None, 0, 12, 4096]),
                completion_tokens=chooser.choice([None, 7, 900]),
                cached_tokens=chooser.choice([None, 0, 64]),
                cost=chooser.choice(
                    [None, Decimal("0.0000000001"), Decimal("0.1234567891"), (Decimal(n) / 7).quantize(TENTH)]
                ),
                cost_source=chooser.choice(["computed", "estimated", "partly_estimated", "unpriced"]),
                first_token_at=started + timezone.timedelta(milliseconds=chooser.choice([40, 180, 2500, 50000]))
                if n % 4
                else None,
                finished=started + timezone.timedelta(milliseconds=chooser.choice([900, 5000, 61000])),
                record_it=False,
            )
        )
    for start in range(0, len(completions), 17):
        rollup.record_many(completions[start : start + 17])

    def table():
        fields = [f.attname for f in UsageDaily._meta.concrete_fields if not f.primary_key]
        totals = defaultdict(lambda: defaultdict(Decimal))
        for row in UsageDaily.objects.values(*fields):
            key = tuple(row[name] for name in rollup.KEY)
            for name in rollup.AMOUNTS:
                totals[key][name] += row[name]
        return {key: dict(amounts) for key, amounts in totals.items()}

    recorded = table()
    assert rollup.rebuild() > 10
    assert recorded == table()
    assert sum(amounts["requests"] for amounts in recorded.values()) == 120


def test_an_amount_the_rollup_has_no_column_for_is_refused(finish):
    with pytest.raises(ValueError, match="Not an amount of UsageDaily: \\['tokens'\\]"):
        rows.add(UsageDaily, rollup.KEY, rollup.AMOUNTS, [((1, NOON.date(), 1, 1, "m", "", "ok", ""), {"tokens": 1})])


def test_a_batch_updates_its_rollup_rows_in_one_order_whatever_the_order_it_came_in(finish, bob, monkeypatch):
    """Two server processes write their batches at once: each locks the rollup rows it shares
    with the other in the same order, so one waits instead of both deadlocking."""
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
        monkeypatch.setattr(
            rows,
            "add",
            lambda model, names, amounts, items, keys=keys: keys.extend(
                tuple(zip(names, values, strict=True)) for values, _ in items
            ),
        )
        rollup.record_many(batch)
        orders.append(keys)
    assert len(orders[0]) == 12
    assert orders[0] == orders[1] == orders[2]
