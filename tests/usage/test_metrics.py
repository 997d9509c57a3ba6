"""/metrics: off unless a bearer token or an allowed address; counts what the relay did."""

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY

from tests.compare.test_consumer import connect, receive_until, run_frame

URL = "/metrics"


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


@pytest.mark.django_db
def test_it_is_off_by_default(client, alice):
    assert client.get(URL).status_code == 404
    client.force_login(alice)  # a login is not enough
    assert client.get(URL).status_code == 404


@pytest.mark.django_db
@override_settings(METRICS_TOKEN="s3cret-metrics-token")
def test_a_bearer_token_opens_it(client):
    assert client.get(URL).status_code == 404
    assert client.get(URL, headers={"Authorization": "Bearer wrong"}).status_code == 404
    response = client.get(URL, headers={"Authorization": "Bearer s3cret-metrics-token"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"playground_streams_open" in response.content


@pytest.mark.django_db
@override_settings(METRICS_ALLOWED_IPS=["10.0.0.0/8", "192.0.2.7"])
def test_an_allowed_address_opens_it(client):
    assert client.get(URL, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get(URL, REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get(URL, REMOTE_ADDR="127.0.0.1").status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_a_run_is_counted_when_it_ends(alice, branch):
    before = {
        "chunks": sample("playground_chunks_relayed_total"),
        "ttft": sample("playground_ttft_seconds_count", model="gpt-5-mini"),
        "upstream": sample("playground_upstream_seconds_count", model="gpt-5-mini"),
        "ok": sample("playground_requests_total", model="gpt-5-mini", status="ok"),
    }
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"], content="sim:fault=429"))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    error = next(f for f in frames if f["type"] == "completion.error")
    await comm.disconnect()
    assert sample("playground_chunks_relayed_total") >= before["chunks"] + 1
    assert sample("playground_ttft_seconds_count", model="gpt-5-mini") == before["ttft"] + 1
    assert sample("playground_upstream_seconds_count", model="gpt-5-mini") == before["upstream"] + 2
    assert sample("playground_requests_total", model="gpt-5-mini", status="ok") == before["ok"] + 1
    assert sample("playground_errors_total", kind=error["code"]) >= 1
    assert sample("playground_streams_open") == 0


@pytest.mark.django_db(transaction=True)
async def test_a_run_refused_by_a_budget_is_counted(alice, team, branch):
    from decimal import Decimal

    from asgiref.sync import sync_to_async

    from playground.usage.models import Budget
    from tests.usage.test_limits import _spend

    before = sample("playground_runs_refused_total", limit="budget")
    await Budget.objects.acreate(team=team, monthly_usd=Decimal("1"), hard_stop=True)
    await sync_to_async(_spend)(team, branch, "2")
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    assert (await comm.receive_json_from(timeout=10))["type"] == "error"
    await comm.disconnect()
    assert sample("playground_runs_refused_total", limit="budget") == before + 1


def test_a_batch_of_finished_requests_is_counted_request_by_request():
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    from playground.usage.metrics import on_completions_finished

    start = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

    def done(status, **fields):
        values = {"model": "batch-model", "status": status, "started": start, "first_token_at": start + timedelta(seconds=0.2),
                  "finished": start + timedelta(seconds=2), "error_code": "", "http_status": None,
                  "text_parts": ["a", "b"], "reasoning_parts": ["r"]}  # fmt: skip
        return SimpleNamespace(**{**values, **fields})

    names = [
        ("playground_requests_total", {"model": "batch-model", "status": "ok"}),
        ("playground_requests_total", {"model": "batch-model", "status": "error"}),
        ("playground_errors_total", {"kind": "429"}),
        ("playground_errors_total", {"kind": "batch_timeout"}),
        ("playground_ttft_seconds_count", {"model": "batch-model"}),
        ("playground_upstream_seconds_count", {"model": "batch-model"}),
        ("playground_chunks_relayed_total", {}),
    ]
    before = [sample(name, **labels) for name, labels in names]
    on_completions_finished(
        sender=None,
        completions=[
            done("ok"), done("ok"), done("ok", first_token_at=None, text_parts=[], reasoning_parts=[]),
            done("error", http_status=429, first_token_at=None, text_parts=[], reasoning_parts=[]),
            done("error", http_status=429, first_token_at=None, text_parts=[], reasoning_parts=[]),
            done("error", error_code="batch_timeout", finished=None, text_parts=[], reasoning_parts=[]),
        ],
    )  # fmt: skip
    after = [sample(name, **labels) for name, labels in names]
    assert [a - b for a, b in zip(after, before, strict=True)] == [3, 3, 2, 1, 3, 5, 6]
