"""The Usage filters: in the URL, applied alike to totals, charts, log and CSV; bad values are a
400 with a message and an empty result, never a 500 and never another team's data."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from playground.compare.models import Completion
from playground.teams.models import Branch, Membership

pytestmark = pytest.mark.django_db
URL = reverse("usage:index")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PAGES = [
    "usage:index",
    "usage:export",
    "usage:spend_chart",
    "usage:tokens_chart",
    "usage:ttft_chart",
    "usage:errors_chart",
]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def two_branches(team, alice, gw_branch):
    other = Branch(team=team, name="Staging", base_url="http://127.0.0.1:9", created_by=alice)
    other.set_token("nt_live_usage_tests_token_1111")
    other.save()
    return gw_branch, other


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize(
    "query",
    [
        {"period": "custom", "from": "9999-12-31", "to": "9999-12-31"},
        {"period": "custom", "from": "0001-01-01", "to": "0001-01-02"},
        {"period": "custom", "from": "2026-02-30"},
        {"period": "custom", "from": "not a date"},
        {"period": "forever"},
    ],
)
def test_a_bad_date_is_a_400_with_a_message_on_every_view(client, alice, team, finish, name, query):
    finish(started=NOW - timedelta(hours=1))
    client.force_login(alice)
    response = client.get(reverse(name), {"team": team.slug, **query})
    assert response.status_code == 400
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"date" in body.lower() or b"period" in body.lower()


@pytest.mark.parametrize("name", PAGES)
def test_filters_apply_alike_to_totals_charts_log_and_csv(client, alice, bob, team, finish, two_branches, name):
    main, staging = two_branches
    Membership.objects.get_or_create(team=team, user=bob)
    finish(model="gpt-5-mini", branch=main, started=NOW - timedelta(hours=1), cost=Decimal("0.001"))
    finish(model="gpt-5-mini", branch=staging, started=NOW - timedelta(hours=2), cost=Decimal("0.002"))
    finish(model="gpt-5-nano", branch=staging, user=bob, started=NOW - timedelta(hours=3), cost=Decimal("0.004"))
    finish(
        model="gpt-5-mini",
        branch=staging,
        started=NOW - timedelta(hours=4),
        status=Completion.Status.ERROR,
        http_status=500,
        cost=None,
        cost_source="",
    )
    client.force_login(alice)
    query = {"team": team.slug, "branch": str(staging.code), "model": "gpt-5-mini", "status": "ok", "person": "alice"}
    response = client.get(reverse(name), query)
    assert response.status_code == 200
    if name == "usage:index":
        assert len(response.context["log"]) == 1
        assert response.context["log"][0].branch == staging
        assert response.context["grand"]["requests"] == 1
        assert response.context["grand"]["cost"] == Decimal("0.002")
    elif name == "usage:export":
        lines = b"".join(response.streaming_content).decode().splitlines()
        assert len(lines) == 2 and ",Staging,gpt-5-mini,chat_completions,ok," in lines[1]
    else:
        assert response["Content-Type"].startswith("image/svg+xml")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"model": "no-such-model"}, "Unknown model"),
        ({"person": "nobody"}, "No one called"),
        ({"status": "weird"}, "Unknown status"),
        ({"cost_source": "guess"}, "Unknown cost source"),
        ({"endpoint": "ftp"}, "Unknown endpoint"),
        ({"branch": "not-a-uuid"}, "No such branch"),
        ({"group": "planet"}, "Unknown grouping"),
    ],
)
def test_an_unknown_filter_value_says_so_and_shows_nothing(client, alice, team, finish, query, message):
    finish(started=NOW - timedelta(hours=1))
    client.force_login(alice)
    response = client.get(URL, {"team": team.slug, **query})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["log"] == [] and response.context["totals"] == []


def test_a_branch_of_another_team_is_refused_not_shown(client, alice, charlie, team, finish):
    from playground.teams.models import Team

    theirs = Team.objects.create(name="Theirs", slug="theirs")
    Membership.objects.create(team=theirs, user=charlie, role=Membership.Role.OWNER)
    branch = Branch(team=theirs, name="Secret", base_url="http://127.0.0.1:9")
    branch.set_token("nt_live_usage_tests_token_2222")
    branch.save()
    finish(started=NOW - timedelta(hours=1), team=theirs, user=charlie, branch=branch, model="gpt-5-nano")
    finish(started=NOW - timedelta(hours=1))
    client.force_login(alice)
    response = client.get(URL, {"team": team.slug, "branch": str(branch.code)})
    assert response.status_code == 400
    assert "No such branch" in response.content.decode()
    assert "Secret" not in response.content.decode()
    assert response.context["log"] == []
    # And another team's slug is a 404, filters or not.
    assert client.get(URL, {"team": "theirs"}).status_code == 404
    assert client.get(reverse("usage:export"), {"team": "theirs"}).status_code == 404


def test_an_htmx_request_gets_only_the_results(client, alice, team, finish):
    finish(started=NOW - timedelta(hours=1))
    client.force_login(alice)
    response = client.get(URL, {"team": team.slug, "model": "gpt-5-mini"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "usage-groups" in html and "<html" not in html and 'id="usage-filters"' not in html


@pytest.mark.parametrize("group", ["model", "branch", "person", "day"])
def test_group_by_gives_counts_tokens_error_rate_and_estimated_costs(client, alice, team, finish, group):
    finish(
        started=NOW - timedelta(hours=1),
        cached_tokens=40,
        reasoning_tokens=7,
        first_token_at=NOW - timedelta(hours=1) + timedelta(milliseconds=320),
    )
    finish(
        started=NOW - timedelta(hours=2),
        cost=Decimal("0.5"),
        cost_source=Completion.CostSource.ESTIMATED,
        first_token_at=NOW - timedelta(hours=2) + timedelta(milliseconds=900),
    )
    finish(started=NOW - timedelta(hours=3), status=Completion.Status.ERROR, cost=None, cost_source="")
    client.force_login(alice)
    response = client.get(URL, {"team": team.slug, "group": group})
    assert response.status_code == 200
    (row,) = response.context["totals"]
    assert (row["requests"], row["errors"], row["cached_tokens"], row["reasoning_tokens"]) == (3, 1, 40, 7)
    assert row["error_rate"] == pytest.approx(1 / 3)
    assert row["estimated"] == 1
    html = response.content.decode()
    assert "33%" in html and "~$0.50" in html
    if group == "model":
        # 320 ms and 900 ms: the median falls in the 300-400 ms bucket, the p95 in 700-1000 ms.
        assert 300 <= row["ttft_p50"] <= 400
        assert 700 <= row["ttft_p95"] <= 1000
        assert row["tps_p50"] is not None
    else:
        assert "ttft_p50" not in row


def test_percentiles_come_from_the_histogram():
    from playground.usage.summary import percentile

    assert percentile([0, 0, 0], (10, 20), 50) is None
    assert percentile([10, 0, 0], (10, 20), 50) == 5
    assert percentile([0, 10, 0], (10, 20), 95) == pytest.approx(19.5)
    assert percentile([0, 0, 4], (10, 20), 50) == 20


def test_the_quality_page_links_each_kind_to_the_filtered_log(client, alice, team, finish):
    finish(started=NOW - timedelta(hours=1), cost=None, cost_source=Completion.CostSource.UNPRICED, model="gpt-5-nano")
    finish(started=NOW - timedelta(hours=1), cost=Decimal("0.25"), cost_source=Completion.CostSource.ESTIMATED)
    finish(started=NOW - timedelta(hours=1), status=Completion.Status.CANCELLED, cost=Decimal("0.01"))
    client.force_login(alice)
    response = client.get(reverse("usage:quality"), {"team": team.slug})
    assert response.status_code == 200
    rows = {(r["key"], r["value"]): r for r in response.context["rows"]}
    assert rows["cost_source", "estimated"]["requests"] == 1
    assert rows["cost_source", "estimated"]["cost"] == Decimal("0.25")
    assert rows["status", "cancelled"]["requests"] == 1
    assert rows["cost_source", "unpriced"]["requests"] == 1
    assert "cost_source=estimated" in rows["cost_source", "estimated"]["url"]
    assert [u["model"] for u in response.context["unpriced"]] == ["gpt-5-nano"]
    followed = client.get(rows["status", "cancelled"]["url"])
    assert [c.status for c in followed.context["log"]] == ["cancelled"]


def test_the_quality_page_refuses_an_outsider(client, charlie, team):
    client.force_login(charlie)
    assert client.get(reverse("usage:quality"), {"team": team.slug}).status_code == 404
