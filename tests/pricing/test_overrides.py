"""Team price overrides: the snapshot a request stores, and the page at /models/prices/."""

from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from gateway import pricing
from gateway.models import GatewayModel
from playground.teams.models import Membership, Team, TeamModelPrice
from playground.teams.pricing import price_snapshots

pytestmark = pytest.mark.django_db

URL = "/models/prices/"
REMOVE_URL = "/models/prices/remove/"


@pytest.fixture
def victor(django_user_model, team):
    """A viewer in alice's team."""
    user = django_user_model.objects.create_user("victor", "victor@example.com", "pw-victor-123")
    Membership.objects.create(user=user, team=team, role=Membership.Role.VIEWER)
    return user


@pytest.fixture
def models(catalog):
    return GatewayModel.objects.in_bulk(["gemini-2-5-pro", "gpt-5-mini", "claude-haiku-4-5"])


def override(team, model_id, **rates):
    return TeamModelPrice.objects.create(team=team, model_id=model_id, **rates)


# ---- price_snapshots() ---------------------------------------------------------------


def test_without_overrides_each_model_gets_the_catalog_snapshot(team, models):
    assert price_snapshots(team, models) == {model_id: m.price_snapshot() for model_id, m in models.items()}


def test_an_override_replaces_only_the_rates_it_sets_and_drops_the_context_tiers(team, models):
    with time_machine.travel("2027-01-05 12:00Z"):
        override(team, "gemini-2-5-pro", input=Decimal("1"), output=Decimal("8"), note="2027 contract")
    snapshot = price_snapshots(team, models)["gemini-2-5-pro"]
    assert snapshot == {
        "input": "1.000000",
        "output": "8.000000",
        "cache_read": "0.125000",  # the catalog's, not overridden
        "cache_write": None,
        "input_audio": None,
        # The catalog's >200K tier (2.5 / 15) would bill more than the team's own rate.
        "tiers": [],
        "source": "team override: 2027 contract",
        "effective": "2027-01-05",
        "override": True,
    }
    # 300000 x 1 = 300000 -> 0.3; 1000 x 8 = 8000 -> 0.008 (no tier: the catalog would say 0.75 + 0.015)
    b = pricing.buckets({"prompt_tokens": 300000, "completion_tokens": 1000}, "chat_completions")
    assert pricing.cost(b, snapshot)[0] == Decimal("0.308")


def test_an_override_of_another_rate_keeps_the_tiers_without_that_rate(team, models):
    override(team, "gemini-2-5-pro", cache_read=Decimal("0.1"))
    snapshot = price_snapshots(team, models)["gemini-2-5-pro"]
    assert (snapshot["input"], snapshot["cache_read"]) == ("1.250000", "0.100000")
    assert snapshot["tiers"] == [{"tier": {"type": "context", "size": 200000}, "input": 2.5, "output": 15}]
    assert snapshot["source"] == "team override"
    # Above 200K: 100001 x 2.5 = 250002.5 -> 0.2500025; 100000 x 0.1 (the team's, at every size) -> 0.01
    usage = {"prompt_tokens": 200001, "prompt_tokens_details": {"cached_tokens": 100000}}
    assert pricing.cost(pricing.buckets(usage, "chat_completions"), snapshot)[0] == Decimal("0.2600025")


def test_a_zero_override_is_a_price_not_an_unknown(team, models):
    override(team, "gpt-5-mini", input=Decimal("0"), output=Decimal("0"), note="free trial")
    snapshot = price_snapshots(team, models)["gpt-5-mini"]
    b = pricing.buckets({"prompt_tokens": 10, "completion_tokens": 10}, "chat_completions")
    assert pricing.cost(b, snapshot)[0] == 0


def test_another_teams_override_does_not_apply(team, models, charlie):
    other = Team.objects.get(memberships__user=charlie, personal=True)
    override(other, "gpt-5-mini", input=Decimal("9"))
    assert price_snapshots(team, models)["gpt-5-mini"] == models["gpt-5-mini"].price_snapshot()
    assert price_snapshots(other, models)["gpt-5-mini"]["input"] == "9.000000"


def test_a_model_missing_from_the_catalog_is_priced_only_by_an_override(team, catalog):
    override(team, "house-model", input=Decimal("2"), output=Decimal("4"))
    snapshots = price_snapshots(team, {"house-model": None, "other-model": None})
    assert snapshots["other-model"] is None
    assert snapshots["house-model"]["input"] == "2.000000"
    assert snapshots["house-model"]["cache_read"] is None
    assert snapshots["house-model"]["override"] is True


def test_the_overrides_are_read_in_one_query(team, models, django_assert_num_queries):
    override(team, "gpt-5-mini", input=Decimal("0.2"))
    override(team, "claude-haiku-4-5", output=Decimal("4"))
    with django_assert_num_queries(1):
        snapshots = price_snapshots(team, models)
    assert snapshots["claude-haiku-4-5"]["output"] == "4.000000"
    with django_assert_num_queries(0):
        assert price_snapshots(team, {}) == {}


# ---- the page ------------------------------------------------------------------------


def post_price(client, team, **fields):
    return client.post(URL, {"team": team.slug, "model": "gpt-5-mini", "note": "", **fields})


def test_an_owner_sets_changes_and_removes_an_override(client, alice, team, catalog):
    client.force_login(alice)
    response = post_price(client, team, input="0.2", output="1.5", note="negotiated")
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?team={team.slug}"
    row = TeamModelPrice.objects.get(team=team, model_id="gpt-5-mini")
    assert (row.input, row.output, row.cache_read, row.note, row.created_by) == (
        Decimal("0.2"),
        Decimal("1.5"),
        None,
        "negotiated",
        alice,
    )

    page = client.get(URL).content.decode()
    assert "gpt-5-mini" in page and "negotiated" in page and "$0.20" in page and "team override" in page

    post_price(client, team, output="1.25")  # setting it again replaces it
    row = TeamModelPrice.objects.get(team=team, model_id="gpt-5-mini")
    assert (row.input, row.output) == (None, Decimal("1.25"))

    response = client.post(REMOVE_URL, {"team": team.slug, "model": "gpt-5-mini"})
    assert response.status_code == 302
    assert not TeamModelPrice.objects.filter(team=team).exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"input": "-1"}, "greater than or equal to 0"),
        ({"input": "abc"}, "Enter a number"),
        ({"input": "NaN"}, "Enter a number"),
        ({"output": "1.1234567"}, "no more than 6 decimal places"),
        ({}, "Set at least one rate"),
        ({"model": "no-such-model", "input": "1"}, "Select a valid choice"),
    ],
)
def test_an_invalid_price_is_refused_with_a_message(client, alice, team, catalog, fields, error):
    client.force_login(alice)
    response = post_price(client, team, **fields)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not TeamModelPrice.objects.exists()


def test_a_member_and_a_viewer_see_the_overrides_but_cannot_change_them(client, bob, victor, team, catalog):
    override(team, "gpt-5-mini", input=Decimal("0.2"), note="negotiated")
    for user in (bob, victor):
        client.force_login(user)
        # Their current team is their personal one: the page is asked for alice's team.
        page = client.get(URL, {"team": team.slug})
        assert page.status_code == 200
        html = page.content.decode()
        assert "negotiated" in html
        assert "Save price" not in html and "Remove" not in html
        assert post_price(client, team, input="0.1").status_code == 403
        assert client.post(REMOVE_URL, {"team": team.slug, "model": "gpt-5-mini"}).status_code == 403
    assert TeamModelPrice.objects.get(team=team).input == Decimal("0.2")


def test_an_admin_may_set_prices(client, django_user_model, team, catalog):
    admin = django_user_model.objects.create_user("ada", "ada@example.com", "pw-ada-123")
    Membership.objects.create(user=admin, team=team, role=Membership.Role.ADMIN)
    client.force_login(admin)
    assert post_price(client, team, input="0.1").status_code == 302
    assert TeamModelPrice.objects.get(team=team).created_by == admin


def test_an_outsider_gets_404_for_another_teams_prices(client, charlie, team, catalog):
    override(team, "gpt-5-mini", input=Decimal("0.2"), note="secret rate")
    client.force_login(charlie)
    assert client.get(URL, {"team": team.slug}).status_code == 404
    assert post_price(client, team, input="0.01").status_code == 404
    assert client.post(REMOVE_URL, {"team": team.slug, "model": "gpt-5-mini"}).status_code == 404
    # Charlie's own page shows his team, not alice's.
    page = client.get(URL).content.decode()
    assert "secret rate" not in page
    assert TeamModelPrice.objects.get(team=team).input == Decimal("0.2")


def test_the_page_shows_the_catalog_rate_beside_the_override(client, alice, team, catalog):
    override(team, "gpt-5-mini", input=Decimal("0.2"))
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert "catalog $0.25" in html  # gpt-5-mini's input in the catalog
    assert ">$2</span>" in html  # its output, not overridden: the catalog rate


def test_the_page_reads_a_fixed_number_of_queries(client, alice, team, catalog, django_assert_max_num_queries):
    for model_id in ("gpt-5-mini", "gpt-5", "claude-haiku-4-5", "house-model"):
        override(team, model_id, input=Decimal("1"))
    client.force_login(alice)
    client.get(URL)  # warm the session
    with django_assert_max_num_queries(10):
        response = client.get(URL)
    assert response.content.decode().count("team override</span>") == 4


def test_the_page_needs_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_url_has_the_documented_name():
    assert reverse("catalog:prices") == URL
