"""playground.rows writes what the ORM would: value by value, row by row, on both databases."""

import uuid
import warnings
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import connection, models
from django.forms.models import model_to_dict
from django.test.utils import isolate_apps

from playground import rows
from playground.compare.models import Completion, Run
from playground.usage.models import UsageDaily

pytestmark = pytest.mark.django_db


def comparable(prepared):
    # psycopg's JSON wrapper (Jsonb) does not compare by value: its type and what it wraps do.
    # Its integer wrappers (Int2, Int4, Int8) are ints: the type tells them apart.
    return type(prepared), getattr(prepared, "obj", prepared)


SAMPLES = [
    None, "", "text ✓", 0, 7, -3, 2**40, 1.5, True, False, Decimal("0.0001234567"),
    datetime(2026, 12, 2, 5, 30, tzinfo=UTC), datetime(2026, 12, 2, 5, 30, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2026, 12, 2, 5, 30),  # noqa: DTZ001 - naive on purpose: Django warns and makes it aware
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "12345678123456781234567812345678", {"prompt_tokens": 3, "nested": [1, "two"]}, [], [{"id": "call_1"}],
    "0.5", "12",
]  # fmt: skip


@pytest.mark.parametrize("model", [Run, Completion, UsageDaily])
def test_each_value_is_prepared_as_django_prepares_it(model):
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    preps = rows.prep_functions(fields, connection)
    compared = 0
    for field, prep in zip(fields, preps, strict=True):
        for value in SAMPLES:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a naive datetime, both ways
                try:
                    expected = field.get_db_prep_save(value, connection)
                except Exception as exc:  # a value this field cannot take at all: the same error
                    with pytest.raises(type(exc)):
                        prep(value)
                    continue
                assert comparable(prep(value)) == comparable(expected), (field.name, value)
            compared += 1
    assert compared > 8 * len(fields)


def planned(team, user, branch, n, run=None):
    """Unsaved runs (or requests of `run`) with a value of each kind in their fields."""
    if run is None:
        return [
            Run(team=team, user=user, branch=branch, created=datetime(2026, 12, 2, 5, i, tzinfo=UTC), messages=[{"role": "user", "content": f"ünïcode {i}"}],
                params={"temperature": 0.5, "seed": 2**40} if i % 2 else {}, threads={}, model_params={})
            for i in range(n)
        ]  # fmt: skip
    return [
        Completion(
            run=run, team=team, user=user if i % 3 else None, branch=branch, model=f"model-{i}",
            started=datetime(2026, 12, 2, 5, 30, i, tzinfo=UTC), prompt_tokens=i * 100 if i % 2 else None,
            cost=Decimal("0.0001234567") * i, price={"input": "1.25"}, notes=["a note"] if i % 2 else [],
            http_status=200, output_text="x" * i, retry_after=1.5 if i == 1 else None,
        )
        for i in range(n)
    ]  # fmt: skip


def stored(model, objs):
    """The rows as read back, by code: everything but the primary key and run."""
    by_code = {
        obj.code: model_to_dict(obj, exclude=["id", "run"])
        for obj in model.objects.filter(code__in=[o.code for o in objs])
    }
    return [by_code[obj.code] for obj in objs]


def test_insert_writes_the_rows_bulk_create_writes_and_gives_each_its_key(team, alice, branch):
    ours, django = planned(team, alice, branch, 5), planned(team, alice, branch, 5)
    rows.insert(Run, ours)
    Run.objects.bulk_create(django)
    for obj in ours:
        assert obj.pk is not None and obj._state.adding is False and obj._state.db == "default"
        assert Run.objects.get(pk=obj.pk).code == obj.code
    strip = lambda row: {k: v for k, v in row.items() if k != "code"}  # noqa: E731
    assert [strip(r) for r in stored(Run, ours)] == [strip(r) for r in stored(Run, django)]

    ours, django = planned(team, alice, branch, 6, ours[0]), planned(team, alice, branch, 6, django[0])
    rows.insert(Completion, ours)
    Completion.objects.bulk_create(django)
    assert [Completion.objects.get(pk=c.pk).model for c in ours] == [f"model-{i}" for i in range(6)]
    assert [strip(r) for r in stored(Completion, ours)] == [strip(r) for r in stored(Completion, django)]


def test_insert_splits_a_long_batch_into_statements_the_database_takes(team, alice, branch, monkeypatch):
    monkeypatch.setattr(rows, "MAX_PARAMS", 25)  # two runs per statement
    runs = planned(team, alice, branch, 7)
    rows.insert(Run, runs)
    assert len({run.pk for run in runs}) == 7
    assert [Run.objects.get(pk=run.pk).code for run in runs] == [run.code for run in runs]


def test_insert_falls_back_to_bulk_create_where_the_database_returns_no_rows(team, alice, branch, monkeypatch):
    monkeypatch.setattr(connection.features, "can_return_rows_from_bulk_insert", False)
    runs = planned(team, alice, branch, 2)
    rows.insert(Run, runs)
    assert Run.objects.filter(code__in=[run.code for run in runs]).count() == 2


@isolate_apps("playground.compare")
def test_insert_refuses_fields_it_would_leave_empty():
    class Stamped(models.Model):  # noqa: DJ008
        created = models.DateTimeField(auto_now_add=True)

        class Meta:
            app_label = "compare"

    with pytest.raises(TypeError, match="auto_now fields \\(created\\)"):
        rows.insert(Stamped, [Stamped()])


def test_update_writes_what_save_with_update_fields_writes(team, alice, branch):
    run = planned(team, alice, branch, 1)[0]
    run.save()
    ours, django = planned(team, alice, branch, 4, run), planned(team, alice, branch, 4, run)
    Completion.objects.bulk_create(ours + django)
    names = ["status", "finished", "prompt_tokens", "cost", "usage_raw", "output_text", "http_status"]
    for n, (a, b) in enumerate(zip(ours, django, strict=True)):
        for c in (a, b):
            c.status, c.finished, c.prompt_tokens = "ok", datetime(2026, 12, 2, 6, n, tzinfo=UTC), n
            c.cost, c.usage_raw, c.output_text, c.http_status = Decimal("0.25") / (n + 1), {"total": n}, "done ✓", None
        b.save(update_fields=names)
    rows.update(Completion, ours, names)
    strip = lambda row: {k: v for k, v in row.items() if k not in ("code", "model")}  # noqa: E731
    assert [strip(r) for r in stored(Completion, ours)] == [strip(r) for r in stored(Completion, django)]
    assert stored(Completion, ours)[1]["output_text"] == "done ✓"


def test_new_makes_the_instance_the_constructor_makes(team, alice, branch):
    run_values = {"team_id": team.pk, "user": alice, "branch": branch, "messages": [{"role": "user", "content": "hi"}],
                  "params": {"seed": 1}, "created": datetime(2026, 12, 2, 5, 0, tzinfo=UTC), "prompt_version": None}  # fmt: skip
    ours, django = rows.new(Run, **run_values), Run(**run_values)
    values = {"run": ours, "team_id": team.pk, "user": None, "branch": branch, "model": "gpt-5-mini",
              "endpoint": "chat", "started": datetime(2026, 12, 2, 5, 0, tzinfo=UTC), "price": {"input": "1"}, "notes": ["n"]}  # fmt: skip
    pairs = [(ours, django), (rows.new(Completion, **values), Completion(**values))]
    for a, b in pairs:
        for field in type(a)._meta.concrete_fields:
            if field.name != "code":  # a fresh UUID each
                assert getattr(a, field.attname) == getattr(b, field.attname), field.name
        assert a.code != b.code and a.code.version == 4
        assert (a._state.adding, a._state.db) == (b._state.adding, b._state.db) == (True, "default")
    # Related objects are the ones given, read without the database.
    completion = pairs[1][0]
    assert completion.run is ours and completion.branch is branch and completion.user is None
    assert ours.user is alice and ours.team_id == team.pk
    # Each instance has its own mutable defaults.
    assert rows.new(Run, **run_values).threads is not rows.new(Run, **run_values).threads


def test_new_refuses_what_the_constructor_refuses(alice, branch):
    with pytest.raises(TypeError, match="unexpected keyword arguments: colour"):
        rows.new(Run, colour="red")
    with pytest.raises(ValueError, match="Run.branch must be a Branch"):
        rows.new(Run, branch=alice)
