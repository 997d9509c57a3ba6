from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.urls import reverse

from playground.compare.models import Completion
from playground.teams.models import Membership, Team
from playground.usage import views

pytestmark = pytest.mark.django_db
URL = reverse("usage:index")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def older_link(response):
    return response.context["older_url"]


def test_the_page_needs_a_login(client):
    assert client.get(URL).status_code == 302


def test_it_shows_the_requests_and_the_totals_by_model(client, alice, finish):
    finish(
        model="gpt-5-mini",
        started=NOW - timedelta(hours=1),
        prompt_tokens=1200,
        completion_tokens=340,
        cost=Decimal("0.00098"),
    )
    finish(
        model="gpt-5-mini",
        started=NOW - timedelta(hours=2),
        prompt_tokens=800,
        completion_tokens=60,
        cost=Decimal("0.00032"),
    )
    finish(
        model="claude-sonnet-4-6",
        started=NOW - timedelta(hours=3),
        status=Completion.Status.ERROR,
        http_status=429,
        prompt_tokens=None,
        completion_tokens=None,
        cost=None,
        cost_source="",
    )
    client.force_login(alice)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    totals = {row["model"]: row for row in response.context["totals"]}
    assert totals["gpt-5-mini"]["requests"] == 2
    assert totals["gpt-5-mini"]["prompt_tokens"] == 2000
    assert totals["gpt-5-mini"]["cost"] == Decimal("0.0013")
    assert totals["claude-sonnet-4-6"]["errors"] == 1
    assert response.context["grand"]["requests"] == 3
    assert response.context["grand"]["cost"] == Decimal("0.0013")
    assert "$0.0013" in html
    assert "1,200" in html
    assert 'class="badge badge-error"' in html and ">429<" in html
    assert "850 ms" in html
    assert [c.model for c in response.context["log"]] == ["gpt-5-mini", "gpt-5-mini", "claude-sonnet-4-6"]


def test_missing_and_estimated_costs_are_marked(client, alice, finish):
    finish(cost=None, cost_source=Completion.CostSource.UNPRICED, started=NOW - timedelta(minutes=5))
    finish(cost=Decimal("0.5"), cost_source=Completion.CostSource.ESTIMATED, started=NOW - timedelta(minutes=6))
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert 'title="No known price for this model, so no cost was computed."' in html
    assert "~$0.50" in html
    assert "+1 unpriced" in html


def test_the_period_selects_requests_and_totals(client, alice, finish):
    finish(model="recent", started=NOW - timedelta(hours=2))
    finish(model="last-week", started=NOW - timedelta(days=5))
    finish(model="last-month", started=NOW - timedelta(days=20))
    client.force_login(alice)

    def models(**params):
        response = client.get(URL, params)
        return [c.model for c in response.context["log"]], sorted(r["model"] for r in response.context["totals"])

    assert models(period="24h") == (["recent"], ["recent"])
    assert models(period="7d") == (["recent", "last-week"], ["last-week", "recent"])
    assert models(period="30d")[0] == ["recent", "last-week", "last-month"]
    assert models(period="custom", **{"from": "2026-10-31", "to": "2026-11-15"}) == (
        ["last-week", "last-month"],
        ["last-month", "last-week"],
    )


def test_a_bad_custom_period_is_a_400_with_a_message_and_an_empty_result(client, alice, finish):
    finish(started=NOW - timedelta(hours=1))
    client.force_login(alice)
    response = client.get(URL, {"period": "custom", "from": "2026-11-10", "to": "2026-11-01"})
    assert response.status_code == 400
    assert "start date is after the end date" in response.content.decode()
    assert response.context["log"] == []
    assert response.context["totals"] == []


def test_the_log_pages_with_a_cursor_even_through_equal_timestamps(client, alice, finish, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    same = NOW - timedelta(minutes=10)
    made = [finish(started=same) for _ in range(4)]
    made += [finish(started=NOW - timedelta(minutes=m)) for m in (1, 20, 30)]
    expected = sorted(made, key=lambda c: (c.started, c.pk), reverse=True)
    client.force_login(alice)

    seen, url, pages = [], URL, 0
    while url:
        response = client.get(URL + url if url.startswith("?") else url)
        seen += response.context["log"]
        url = older_link(response)
        pages += 1
        if url:
            assert "cursor" in parse_qs(urlsplit(url).query)
    assert [c.pk for c in seen] == [c.pk for c in expected]
    assert pages == 3


def test_a_request_still_streaming_shows_though_the_rollup_has_none_yet(client, alice, finish):
    finish(model="gpt-5-nano", started=NOW - timedelta(hours=2))
    live = finish(
        model="gpt-5-mini", started=NOW - timedelta(minutes=1), status=Completion.Status.STREAMING, record_it=False
    )
    client.force_login(alice)
    for query in ({"model": "gpt-5-mini"}, {"status": "streaming"}, {}):
        response = client.get(URL, query)
        assert live in response.context["log"], query


def test_filters_with_no_finished_request_read_only_the_streaming_rows(client, alice, finish):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    finish(model="gpt-5-nano", started=NOW - timedelta(hours=2))
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"model": "gpt-5-mini"})
    assert response.context["log"] == []
    log_queries = [q["sql"] for q in queries if 'FROM "compare_completion"' in q["sql"]]
    # The rollup said there is nothing finished to find: the log is asked for streaming rows only.
    assert len(log_queries) == 1 and "'streaming'" in log_queries[0]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"model": "gpt-5-nano"})
    assert len(response.context["log"]) == 1
    assert not any("'streaming'" in q["sql"] for q in queries if 'FROM "compare_completion"' in q["sql"])


def test_the_older_link_keeps_the_team_and_period(client, alice, team, finish, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    finish(started=NOW - timedelta(days=10))
    finish(started=NOW - timedelta(days=11))
    client.force_login(alice)
    link = older_link(client.get(URL, {"period": "30d"}))
    query = parse_qs(urlsplit(link).query)
    assert query["team"] == [team.slug]
    assert query["period"] == ["30d"]


def test_a_malformed_cursor_shows_the_first_page(client, alice, finish):
    finish(started=NOW - timedelta(minutes=1))
    client.force_login(alice)
    for cursor in ("junk", "1-", "99999999999999999999-1"):
        response = client.get(URL, {"cursor": cursor})
        assert response.status_code == 200
        assert len(response.context["log"]) == 1


def test_the_page_runs_a_fixed_number_of_queries(client, alice, finish, django_assert_num_queries, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 5)
    client.force_login(alice)
    for n in (1, 12):
        for i in range(n):
            finish(model=f"model-{i % 4}", started=NOW - timedelta(minutes=i + 1))
        # session, user, memberships, team, totals (rollup), one page of the log, and the
        # filter form's branches, members and models
        with django_assert_num_queries(9):
            response = client.get(URL)
        assert len(response.context["log"]) == min(5, n if n == 1 else 13)
    with django_assert_num_queries(9):
        assert client.get(URL + older_link(response)).status_code == 200


def test_an_outsider_cannot_see_the_team(client, charlie, team, finish):
    finish(started=NOW - timedelta(minutes=1))
    client.force_login(charlie)
    assert client.get(URL, {"team": team.slug}).status_code == 404
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["team"].slug == "charlie"
    assert list(response.context["log"]) == []
    assert response.context["totals"] == []


def test_a_teammate_sees_the_team_usage_and_can_switch_teams(client, bob, team, finish):
    finish(started=NOW - timedelta(minutes=1))
    client.force_login(bob)
    mine = client.get(URL)
    assert mine.context["team"].slug == "bob"
    assert list(mine.context["log"]) == []
    theirs = client.get(URL, {"team": team.slug})
    assert len(theirs.context["log"]) == 1
    assert f'<option value="{team.slug}" selected>' in theirs.content.decode()


def test_a_user_in_no_team_gets_an_empty_page(client, django_user_model):
    user = django_user_model.objects.create_user("loner", password="x")
    Membership.objects.filter(user=user).delete()
    Team.objects.filter(slug="loner").delete()
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    assert "not in any team" in response.content.decode()


def test_tokens_the_gateway_did_not_send_show_as_estimated_in_the_log_and_totals(client, alice, finish):
    finish(
        model="gemini-3-flash",
        prompt_tokens=None,
        completion_tokens=None,
        cost=Decimal("0.0000735"),
        cost_source=Completion.CostSource.ESTIMATED,
        cost_lines=[
            {"bucket": "input", "tokens": 15, "rate": "0.5", "cost": "0.0000075", "tier": None},
            {"bucket": "output", "tokens": 22, "rate": "3", "cost": "0.000066", "tier": None},
        ],
        started=NOW - timedelta(minutes=5),
    )
    client.force_login(alice)
    response = client.get(URL)
    row = response.context["log_rows"][0]
    assert (row["tokens_in"], row["tokens_out"]) == ("~15", "~22")
    totals = {t["model"]: t for t in response.context["totals"]}
    assert (totals["gemini-3-flash"]["prompt_tokens"], totals["gemini-3-flash"]["completion_tokens"]) == (15, 22)
    html = response.content.decode()
    assert '<td class="num">~15</td>' in html and '<td class="num">~22</td>' in html


def test_a_stopped_request_reads_stopped_in_the_log(client, alice, finish):
    finish(status=Completion.Status.CANCELLED, started=NOW - timedelta(minutes=5))
    client.force_login(alice)
    response = client.get(URL)
    assert response.context["log_rows"][0]["status"] == "stopped"
    assert '<option value="cancelled">stopped</option>' in response.content.decode()


def test_an_empty_period_offers_no_export(client, alice, team):
    client.force_login(alice)
    assert "Export CSV" not in client.get(URL).content.decode()


def test_the_totals_write_counts_with_thousands_separators(client, alice, finish):
    from playground.usage.templatetags.usage_format import count

    assert (count(0), count(999), count(1234), count(12_345_678), count(None)) == (
        "0",
        "999",
        "1,234",
        "12,345,678",
        None,
    )
    finish(prompt_tokens=1_234_567, completion_tokens=2_000)
    client.force_login(alice)
    html = client.get(URL, {"period": "30d", "group": "day"}).content.decode()
    assert ">1,234,567<" in html and ">2,000<" in html
