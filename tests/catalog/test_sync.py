"""sync_catalog: upserts GatewayModel rows and keeps the price history in ModelPrice."""

import copy
from datetime import date
from decimal import Decimal

import pytest

from gateway.catalog import load_catalog, seed, sync_catalog
from gateway.models import GatewayModel, ModelPrice

pytestmark = pytest.mark.django_db


def demo(**price):
    return {
        "id": "demo-model",
        "name": "Demo",
        "provider": "openai",
        "kind": "chat",
        "input_modalities": ["text", "image"],
        "output_modalities": ["text"],
        "context_window": 400000,
        "endpoints": ["chat_completions", "openai_responses"],
        "price": {"input": 1.25, "output": 10, "source": "test list", "effective": "2026-07-02", **price},
    }


def test_a_new_model_gets_a_row_and_its_first_price():
    report = sync_catalog([demo()], "test", today=date(2026, 8, 1))
    assert report.created == ["demo-model"]
    row = GatewayModel.objects.get(id="demo-model")
    assert row.price_input == Decimal("1.25")
    assert row.price_output == Decimal("10")
    assert row.price_source == "test list"
    assert row.price_effective == date(2026, 7, 2)
    assert list(row.prices.values_list("effective_from", "input")) == [(date(2026, 7, 2), Decimal("1.25"))]


def test_the_same_price_again_adds_nothing():
    sync_catalog([demo()], "test", today=date(2026, 8, 1))
    report = sync_catalog([demo()], "test", today=date(2026, 8, 2))
    assert report.unchanged == ["demo-model"]
    assert report.prices_added == []
    assert ModelPrice.objects.filter(model_id="demo-model").count() == 1


def test_a_price_change_adds_a_row_and_keeps_the_history():
    sync_catalog([demo()], "test", today=date(2026, 8, 1))
    report = sync_catalog([demo(input=1.5, effective="2026-09-01")], "test", today=date(2026, 9, 3))
    assert report.updated == ["demo-model"]
    assert report.prices_added == ["demo-model"]
    history = list(ModelPrice.objects.filter(model_id="demo-model").values_list("effective_from", "input"))
    assert history == [(date(2026, 9, 1), Decimal("1.5")), (date(2026, 7, 2), Decimal("1.25"))]
    assert GatewayModel.objects.get(id="demo-model").price_input == Decimal("1.5")


def test_a_change_without_a_newer_date_is_dated_the_day_it_was_seen():
    sync_catalog([demo()], "test", today=date(2026, 8, 1))
    sync_catalog([demo(output=12)], "test", today=date(2026, 8, 5))
    dates = list(ModelPrice.objects.filter(model_id="demo-model").values_list("effective_from", flat=True))
    assert dates == [date(2026, 8, 5), date(2026, 7, 2)]


def test_an_unknown_price_starts_no_history_and_stays_null():
    sync_catalog([demo(input=None, output=None, effective=None)], "test", today=date(2026, 8, 1))
    row = GatewayModel.objects.get(id="demo-model")
    assert row.price_input is None
    assert row.price_output is None
    assert not ModelPrice.objects.filter(model_id="demo-model").exists()


def test_a_sync_never_deletes_models_missing_from_the_source():
    sync_catalog([demo()], "test", today=date(2026, 8, 1))
    other = {**demo(), "id": "other-model"}
    report = sync_catalog([other], "test", today=date(2026, 8, 2))
    assert "demo-model" in report.missing
    assert GatewayModel.objects.filter(id="demo-model").exists()


def test_a_changed_field_is_updated_on_the_row():
    sync_catalog([demo()], "test", today=date(2026, 8, 1))
    changed = {**demo(), "context_window": 1_050_000, "tools": True}
    sync_catalog([changed], "test", today=date(2026, 8, 2))
    row = GatewayModel.objects.get(id="demo-model")
    assert (row.context_window, row.tools) == (1_050_000, True)


def test_a_bad_entry_is_refused_before_anything_is_written():
    bad = {**demo(), "id": "bad-model", "max_output": -1}
    with pytest.raises(ValueError, match="'bad-model'.*max_output"):
        sync_catalog([demo(), bad], "test")
    assert not GatewayModel.objects.filter(id="demo-model").exists()


def test_the_migration_loaded_the_whole_catalog():
    # Migration 0002 ran when the test database was built; seeding again changes nothing.
    report = seed()
    assert report.created == []
    assert report.prices_added == []
    assert GatewayModel.objects.count() >= 51
    gpt = GatewayModel.objects.get(id="gpt-5-4")
    assert gpt.price_input == Decimal("2.5")
    assert gpt.prices.get().effective_from == date(2026, 7, 2)


def test_seed_works_with_the_historical_models_of_the_migration():
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    state = MigrationLoader(connection).project_state(("gateway", "0001_initial"))
    historical_model = state.apps.get_model("gateway", "GatewayModel")
    historical_price = state.apps.get_model("gateway", "ModelPrice")
    GatewayModel.objects.all().delete()
    report = seed(historical_model, historical_price)
    assert len(report.created) == 51
    assert ModelPrice.objects.count() == 40  # models with at least one published rate


def test_a_parsed_catalog_can_be_synced_again():
    entries = load_catalog()
    sync_catalog(copy.deepcopy(entries), "again")
    assert sync_catalog(entries, "again").updated == []
