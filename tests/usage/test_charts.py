from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from playground.teams.models import Team
from playground.usage import charts

pytestmark = pytest.mark.django_db
SPEND = reverse("usage:spend_chart")
TOKENS = reverse("usage:tokens_chart")


def url(base, team, **params):
    return f"{base}?{urlencode({'team': team.slug, **params})}"


def test_the_spend_chart_is_an_svg_naming_the_models(client, alice, team, finish):
    finish(model="gpt-5-mini", cost=Decimal("0.0013"))
    finish(model="claude-sonnet-4-6", cost=Decimal("0.02"))
    client.force_login(alice)
    response = client.get(url(SPEND, team))
    svg = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "gpt-5-mini" in svg and "claude-sonnet-4-6" in svg
    assert "$0.000" in svg  # the y axis is in dollars


def test_the_chart_svg_carries_no_script_and_loads_nothing(client, alice, team, finish):
    finish()
    client.force_login(alice)
    for base in (SPEND, TOKENS):
        svg = client.get(url(base, team)).content.decode()
        assert "<script" not in svg
        assert "href" not in svg and "@import" not in svg and "xml-stylesheet" not in svg
        assert "<style" in svg  # what the relaxed CSP below is for


def test_the_tokens_chart_shows_tokens_in_and_out(client, alice, team, finish):
    finish(prompt_tokens=1500, completion_tokens=300)
    client.force_login(alice)
    response = client.get(url(TOKENS, team))
    svg = response.content.decode()
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "Tokens in" in svg and "Tokens out" in svg
    assert "1.5k" in svg  # the value of the bar


def test_a_teammate_sees_the_charts_and_an_outsider_gets_404(client, bob, charlie, team, finish):
    finish()
    client.force_login(bob)
    assert client.get(url(SPEND, team)).status_code == 200
    client.force_login(charlie)
    assert client.get(url(SPEND, team)).status_code == 404
    assert client.get(url(TOKENS, team)).status_code == 404
    assert client.get(SPEND).status_code == 404  # no team at all


def test_the_charts_need_a_login(client, team):
    assert client.get(url(SPEND, team)).status_code == 302
    assert client.get(url(TOKENS, team)).status_code == 302


def test_an_empty_period_draws_a_friendly_chart(client, alice, team):
    client.force_login(alice)
    for base in (SPEND, TOKENS):
        response = client.get(url(base, team, period="30d"))
        assert response.status_code == 200
        assert "No requests in this period" in response.content.decode()


def test_the_chart_covers_only_the_chosen_period(client, alice, team, finish):
    today = timezone.localdate()
    old = timezone.make_aware(timezone.datetime.combine(today - timedelta(days=20), timezone.datetime.min.time()))
    finish(model="old-model", started=old + timedelta(hours=12))
    finish(model="new-model")
    client.force_login(alice)
    week = client.get(url(SPEND, team, period="7d")).content.decode()
    assert "new-model" in week and "old-model" not in week
    first = (today - timedelta(days=21)).isoformat()
    last = (today - timedelta(days=19)).isoformat()
    custom = client.get(url(SPEND, team, period="custom", **{"from": first, "to": last})).content.decode()
    assert "old-model" in custom and "new-model" not in custom


def test_the_svg_csp_allows_its_inline_style_while_the_page_stays_strict(client, alice, team, finish):
    finish()
    client.force_login(alice)
    svg_csp = client.get(url(SPEND, team))["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in svg_csp
    assert "default-src 'none'" in svg_csp and "script-src" not in svg_csp
    page = client.get(reverse("usage:index"), {"team": team.slug})
    assert "style-src 'self'" in page["Content-Security-Policy"]
    assert "unsafe-inline" not in page["Content-Security-Policy"]
    html = page.content.decode()
    assert f'src="{SPEND}?team={team.slug}&amp;period=7d&amp;v=' in html
    assert f'src="{TOKENS}?team={team.slug}&amp;period=7d&amp;v=' in html


def test_the_top_six_models_get_a_series_and_the_rest_sum_into_other(team, finish):
    day = timezone.localdate()
    for n in range(8):
        finish(model=f"model-{n}", cost=Decimal(n + 1) / 1000)
    finish(model="model-0", cost=Decimal("0.0000000001"))
    days, series = charts.spend_per_day(team, day - timedelta(days=1), day)
    assert days == [day - timedelta(days=1), day]
    names = [name for name, _ in series]
    assert names == ["model-7", "model-6", "model-5", "model-4", "model-3", "model-2", "other"]
    other = dict(series)["other"]
    # Exact decimals, summed before any float: models 0 and 1.
    assert other == [Decimal(0), Decimal("0.0030000001")]


def test_spend_series_keep_a_zero_for_days_without_requests(team, finish):
    today = timezone.localdate()
    finish(model="gpt-5-mini", cost=Decimal("0.5"))
    days, series = charts.spend_per_day(team, today - timedelta(days=2), today)
    assert series == [("gpt-5-mini", [Decimal(0), Decimal(0), Decimal("0.5")])]
    assert len(days) == 3


@pytest.mark.parametrize(
    ("largest", "labels"),
    [
        (0.0013, ["$0.0000", "$0.0005", "$0.0010", "$0.0015"]),
        (0.24, ["$0.00", "$0.05", "$0.10", "$0.15", "$0.20", "$0.25"]),
        (1234.5, ["$0", "$250", "$500", "$750", "$1,000", "$1,250"]),
        (0, ["$0.00", "$1.00"]),
    ],
)
def test_dollar_labels_are_round_and_share_their_decimals(largest, labels):
    ticks, step = charts.axis_ticks(largest)
    assert [charts.usd_formatter(step)(tick) for tick in ticks] == labels


def test_days_between_includes_both_ends():
    assert charts.days_between(date(2026, 2, 27), date(2026, 3, 1)) == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
    ]


def test_a_chart_is_drawn_once_until_a_request_lands_in_its_rows(client, alice, team, finish, monkeypatch):
    drawn = []
    spend_chart = charts.spend_chart
    monkeypatch.setattr(charts, "spend_chart", lambda *args: drawn.append(args) or spend_chart(*args))
    finish(model="gpt-5-mini", cost=Decimal("0.0013"))
    client.force_login(alice)
    first = client.get(url(SPEND, team)).content.decode()
    assert client.get(url(SPEND, team)).content.decode() == first
    assert len(drawn) == 1
    # Other filters are other rows: drawn for themselves.
    client.get(url(SPEND, team, model="gpt-5-nano"))
    assert len(drawn) == 2
    # A new request in the rows: drawn again, with it.
    finish(model="claude-sonnet-4-6", cost=Decimal("0.02"))
    svg = client.get(url(SPEND, team)).content.decode()
    assert len(drawn) == 3
    assert "claude-sonnet-4-6" in svg and "claude-sonnet-4-6" not in first
    # A request of another team changes nothing here.
    other = finish(model="gpt-5-nano", team=Team.objects.create(name="Other", slug="other"))
    assert other.team_id != team.pk
    client.get(url(SPEND, team))
    assert len(drawn) == 3


def test_a_rebuilt_rollup_draws_the_charts_again(client, alice, team, finish, monkeypatch):
    from playground.usage.rollup import rebuild

    drawn = []
    tokens_chart = charts.tokens_chart
    monkeypatch.setattr(charts, "tokens_chart", lambda *args: drawn.append(args) or tokens_chart(*args))
    finish()
    client.force_login(alice)
    client.get(url(TOKENS, team))
    rebuild()
    client.get(url(TOKENS, team))
    assert len(drawn) == 2


def test_a_browser_that_has_the_chart_gets_a_304_until_it_changes(client, alice, team, finish):
    finish()
    client.force_login(alice)
    first = client.get(url(SPEND, team))
    etag = first["ETag"]
    again = client.get(url(SPEND, team), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    finish()
    changed = client.get(url(SPEND, team), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert changed["Content-Type"].startswith("image/svg+xml")
