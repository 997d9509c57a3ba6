import csv
import io
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from playground.compare.models import Completion
from playground.usage import export

pytestmark = pytest.mark.django_db
EXPORT = reverse("usage:export")
HEADER = [
    "started",
    "user",
    "branch",
    "model",
    "endpoint",
    "status",
    "http_status",
    "error_code",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost",
    "cost_source",
    "ttft_ms",
    "latency_ms",
    "finish_reason",
    "request_id",
]


def url(team, **params):
    return f"{EXPORT}?{urlencode({'team': team.slug, **params})}"


def download(client, team, **params):
    response = client.get(url(team, **params))
    assert response.status_code == 200
    return response, list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_is_a_csv_download_with_a_header_row(client, alice, team, finish):
    started = timezone.now() - timedelta(minutes=3)
    finish(
        model="gpt-5-mini",
        started=started,
        first_token_at=started + timedelta(milliseconds=120),
        finished=started + timedelta(milliseconds=900),
        http_status=200,
        prompt_tokens=1200,
        completion_tokens=340,
        cached_tokens=1024,
        reasoning_tokens=64,
        finish_reason="stop",
        request_id="req_abc123",
    )
    client.force_login(alice)
    response, rows = download(client, team)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="usage-{team.slug}-')
    assert rows[0] == HEADER
    row = dict(zip(HEADER, rows[1], strict=True))
    assert row["started"] == started.isoformat()
    assert row["user"] == "alice" and row["branch"] == "Main" and row["model"] == "gpt-5-mini"
    assert row["endpoint"] == "chat_completions" and row["status"] == "ok" and row["http_status"] == "200"
    assert [row[k] for k in ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens")] == [
        "1200",
        "340",
        "1024",
        "64",
    ]
    assert (row["ttft_ms"], row["latency_ms"]) == ("120", "900")
    assert (row["finish_reason"], row["request_id"], row["cost_source"]) == ("stop", "req_abc123", "computed")


def test_costs_are_exact_decimal_strings_and_empty_when_unknown(client, alice, team, finish):
    now = timezone.now()
    finish(cost=Decimal("0.0000123457"), started=now - timedelta(seconds=3))
    finish(cost=Decimal("12.5"), started=now - timedelta(seconds=2))
    finish(cost=None, cost_source=Completion.CostSource.UNPRICED, started=now - timedelta(seconds=1))
    client.force_login(alice)
    _, rows = download(client, team)
    assert [r[HEADER.index("cost")] for r in rows[1:]] == ["0.0000123457", "12.5", ""]
    assert [r[HEADER.index("cost_source")] for r in rows[1:]] == ["computed", "computed", "unpriced"]


def test_cells_a_spreadsheet_would_run_as_formulas_are_quoted(client, alice, team, finish, gw_branch):
    gw_branch.name = "@SUM(A1:A9)"
    gw_branch.save()
    finish(
        model='=HYPERLINK("http://evil.example","x")',
        error_code="+cmd|' /C calc'!A0",
        finish_reason="-1+1",
        request_id="\tsneaky",
    )
    client.force_login(alice)
    _, rows = download(client, team)
    row = dict(zip(HEADER, rows[1], strict=True))
    assert row["branch"] == "'@SUM(A1:A9)"
    assert row["model"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["error_code"] == "'+cmd|' /C calc'!A0"
    assert row["finish_reason"] == "'-1+1"
    assert row["request_id"] == "'\tsneaky"


def test_the_export_never_holds_the_token_or_any_text(client, alice, team, finish, gw_branch):
    finish(output_text="the model's secret answer", reasoning_text="its private thoughts", error_message="boom")
    client.force_login(alice)
    body = b"".join(client.get(url(team)).streaming_content).decode()
    assert gw_branch.token() not in body and "nt_live_" not in body
    assert "secret answer" not in body and "private thoughts" not in body and "boom" not in body


def test_only_the_period_and_the_team_are_exported(client, alice, team, finish, django_user_model):
    from playground.teams.models import Team

    other = Team.objects.create(name="Other", slug="other-team")
    finish(model="in-period")
    finish(model="too-old", started=timezone.now() - timedelta(days=9))
    finish(model="other-team", team=other)
    client.force_login(alice)
    _, rows = download(client, team, period="7d")
    assert [r[HEADER.index("model")] for r in rows[1:]] == ["in-period"]
    _, rows = download(client, team, period="30d")
    assert [r[HEADER.index("model")] for r in rows[1:]] == ["too-old", "in-period"]  # oldest first


def test_a_teammate_may_export_and_an_outsider_gets_404(client, bob, charlie, team, finish):
    finish()
    client.force_login(bob)
    _, rows = download(client, team)
    assert len(rows) == 2
    client.force_login(charlie)
    assert client.get(url(team)).status_code == 404
    assert client.get(EXPORT).status_code == 404


def test_the_export_needs_a_login(client, team):
    assert client.get(url(team)).status_code == 302


def test_the_query_count_does_not_grow_with_the_rows(client, alice, team, finish):
    """Users and branches come with the rows (select_related), not one query per row."""
    User = get_user_model()
    client.force_login(alice)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url(team))
            rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        return len(captured), len(rows) - 1

    finish()
    small, exported = queries()
    assert exported == 1
    for n in range(12):
        finish(user=User.objects.create(username=f"user{n}"))
    large, exported = queries()
    assert exported == 13
    assert large == small


def test_the_response_streams_rows_in_pieces(client, alice, team, finish):
    for _ in range(3):
        finish()
    client.force_login(alice)
    response = client.get(url(team))
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) == 4  # the header, then one row at a time
    assert chunks[0] == (",".join(HEADER) + "\r\n").encode()


def test_rows_come_from_the_database_in_chunks_of_two_thousand(team, finish, monkeypatch):
    seen = []
    real_iterator = type(export.log_queryset(team, timezone.now(), None)).iterator

    def spy(qs, chunk_size=None):
        seen.append(chunk_size)
        return real_iterator(qs, chunk_size=chunk_size)

    monkeypatch.setattr(type(export.log_queryset(team, timezone.now(), None)), "iterator", spy)
    finish()
    lines = list(export.csv_lines(export.rows(export.log_queryset(team, timezone.now() - timedelta(hours=1), None))))
    assert len(lines) == 2 and seen == [2000]


@pytest.mark.parametrize(
    ("text", "cell"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("gpt-5", "gpt-5"), ("", ""), (None, "")],
)
def test_safe_text(text, cell):
    assert export.safe_text(text) == cell


@pytest.mark.django_db(transaction=True)
async def test_under_asgi_the_csv_streams_through_an_async_iterator(async_client, alice, team, finish, monkeypatch):
    # Two lines a piece: the database cursor has to survive between sync_to_async hops.
    monkeypatch.setattr(export, "BATCH_LINES", 2)
    for _ in range(3):
        await sync_to_async(finish)()
    await async_client.aforce_login(alice)
    response = await async_client.get(url(team))
    assert response.status_code == 200 and response.is_async
    chunks = [chunk async for chunk in response.streaming_content]
    assert len(chunks) == 2
    body = b"".join(chunks).decode()
    # The test client keeps connections open; close the one sync_to_async's thread opened, or
    # PostgreSQL refuses to drop the test database while it is in use.
    await sync_to_async(connections.close_all)()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == HEADER and len(rows) == 4


def test_a_stopped_request_is_stopped_in_the_csv_as_on_the_pages(client, alice, team, finish):
    finish(status=Completion.Status.CANCELLED, started=timezone.now() - timedelta(minutes=2))
    finish(status=Completion.Status.ERROR, started=timezone.now() - timedelta(minutes=1))
    client.force_login(alice)
    _, rows = download(client, team, status="cancelled")
    assert [dict(zip(HEADER, row, strict=True))["status"] for row in rows[1:]] == ["stopped"]
    page = client.get(reverse("usage:index"), {"team": team.slug, "status": "cancelled"}).content.decode()
    assert "stopped" in page
    _, rows = download(client, team)
    assert [dict(zip(HEADER, row, strict=True))["status"] for row in rows[1:]] == ["stopped", "error"]
