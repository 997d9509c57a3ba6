"""/models/<id>/: every price version with its effective date and source, and the team's price."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from gateway.models import GatewayModel, ModelPrice
from playground import money
from playground.teams.models import Team, TeamModelPrice

pytestmark = pytest.mark.django_db


def test_it_shows_every_version_newest_first_with_sources(client, alice, catalog):
    model = GatewayModel.objects.get(id="gpt-5-2-codex")
    ModelPrice.objects.create(
        model=model, effective_from=date(2025, 12, 1), input=Decimal("2"), output=Decimal("16"), source="an old list"
    )
    client.force_login(alice)
    response = client.get(reverse("catalog:model", args=["gpt-5-2-codex"]))
    html = response.content.decode()
    assert response.status_code == 200
    effective = [v["effective"] for v in response.context["versions"]]
    assert effective == sorted(effective, reverse=True) and len(effective) == 2
    assert "$1.75" in html and "$14" in html and "$0.175" in html
    assert 'href="https://github.com/github/docs/blob/main/data/tables/copilot/models-and-pricing.yml"' in html
    assert "an old list" in html and "Dec 1, 2025" in html


def test_an_unpriced_model_says_unknown(client, alice, catalog):
    client.force_login(alice)
    html = client.get(reverse("catalog:model", args=["inkling"])).content.decode()
    assert "No price is known" in html and "$0" not in html


def test_the_team_price_shows_only_to_its_members(client, alice, charlie, team, catalog):
    TeamModelPrice.objects.create(team=team, model_id="gpt-5-mini", input=Decimal("0.2"), note="negotiated")
    client.force_login(alice)
    assert "negotiated" in client.get(reverse("catalog:model", args=["gpt-5-mini"])).content.decode()
    client.force_login(charlie)
    assert "negotiated" not in client.get(reverse("catalog:model", args=["gpt-5-mini"])).content.decode()
    assert Team.objects.filter(memberships__user=charlie).exclude(pk=team.pk).exists()


def test_an_unknown_model_is_a_404(client, alice, catalog):
    client.force_login(alice)
    assert client.get(reverse("catalog:model", args=["no-such-model"])).status_code == 404


def test_the_models_page_links_each_model_to_its_history(client, alice, catalog):
    client.force_login(alice)
    assert 'href="/models/gpt-5-mini/"' in client.get(reverse("catalog:index")).content.decode()


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (None, "—"),
        (Decimal("0"), "$0.00"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("2.005"), "$2.01"),  # half up, as the Compare page's JavaScript rounds
        (Decimal("0.0000125"), "$0.000013"),
        (Decimal("0.0013"), "$0.0013"),
        (Decimal("0.5"), "$0.50"),
        (Decimal("0.0000001"), "<$0.000001"),
        ("0.25", "$0.25"),
        (0.4, "$0.40"),
    ],
)
def test_one_money_formatter(amount, text):
    assert money.usd(amount) == text


def test_every_page_writes_a_cost_with_the_same_formatter():
    from django.template import engines

    template = engines["django"].from_string("{{ a|money }}")
    assert template.render({"a": Decimal("2.005")}) == money.usd(Decimal("2.005"))


def test_rates_keep_their_list_precision():
    assert money.usd_rate(Decimal("0.072")) == "$0.072"
    assert money.usd_rate(Decimal("15.000000")) == "$15"
    assert money.usd_rate(Decimal("2.5")) == "$2.50"
    assert money.usd_rate(Decimal("3.4375"), "round") == "$3.44"
