"""A gateway that echoes the token, end to end: never in a frame, a row, a log, a page, the CSV or the admin."""

import json
import logging

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse

from gateway.client import make_client
from gateway.redact import MASK
from playground.compare import relay
from playground.compare.models import Completion
from tests.compare.test_consumer import connect, receive_until, run_frame
from tests.conftest import TOKEN

pytestmark = [pytest.mark.django_db(transaction=True)]
SSE = {"content-type": "text/event-stream"}


def chunk(**delta):
    return "data: " + json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}) + "\n\n"


def echoing_gateway(request):
    """gpt-5-mini streams the token back (split across two chunks, in headers, in usage);
    every other model is refused with the token in the error body and headers."""
    sent = request.headers["authorization"].removeprefix("Bearer ")
    model = json.loads(request.content)["model"]
    headers = {"x-request-id": f"req-{sent}", "x-ratelimit-remaining-tokens": sent}
    if model == "gpt-5-mini":
        body = (
            chunk(content=f"You sent {sent[:9]}")
            + chunk(content=f"{sent[9:]} to me.")
            + chunk(reasoning_content=f"the key is {sent}")
            + "data: "
            + json.dumps({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7, "echo": sent}})
            + "\n\ndata: "
            + json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            + "\n\ndata: [DONE]\n\n"
        )
        return httpx.Response(200, headers={**SSE, **headers}, content=body.encode())
    error = {"error": {"code": "unauthorized", "message": f"Invalid credential {sent}"}}
    return httpx.Response(401, headers=headers, json=error)


@pytest.fixture
def echo_branch(team, alice, catalog, settings, monkeypatch):
    from playground.teams.models import Branch

    settings.GATEWAY_ALLOWED_HOSTS = ["127.0.0.1", "127.0.0.1:9"]
    monkeypatch.setattr(relay, "gateway_client", lambda: make_client(transport=httpx.MockTransport(echoing_gateway)))
    branch = Branch(team=team, name="Echo", base_url="http://127.0.0.1:9", created_by=alice)
    branch.set_token(TOKEN)
    branch.save()
    return branch


def pages(alice, completions):
    """Everything a person can read about these requests, as one string."""
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client = Client()
    client.force_login(alice)
    texts = [client.get(reverse("usage:export")).content.decode()]
    for c in completions:
        texts.append(client.get(reverse("usage:request", args=[c.code])).content.decode())
    client.force_login(root)
    for c in completions:
        response = client.get(reverse("admin:compare_completion_change", args=[c.pk]))
        assert response.status_code == 200
        texts.append(response.content.decode())
    return "\n".join(texts)


async def test_a_gateway_echoing_the_token_never_gets_it_anywhere(alice, echo_branch, caplog):
    caplog.set_level(logging.DEBUG)
    comm, connected = await connect(alice)
    assert connected
    await comm.send_json_to(run_frame(echo_branch, ["gpt-5-mini", "claude-haiku-4-5"]))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()

    wire = json.dumps(frames)
    assert TOKEN not in wire
    error = next(f for f in frames if f["type"] == "completion.error")
    assert error["status"] == 401 and MASK in error["message"]
    text = "".join(f.get("text", "") for f in frames if f["type"] == "delta")
    assert text == f"You sent {MASK} to me."

    rows = await sync_to_async(list)(Completion.objects.order_by("model"))
    assert len(rows) == 2
    for row in rows:
        for name in ("error_message", "error_code", "request_id", "output_text", "reasoning_text"):
            assert TOKEN not in getattr(row, name), name
        assert TOKEN not in json.dumps(row.rate_limit) and TOKEN not in json.dumps(row.usage_raw)
        assert row.request_id == f"req-{MASK}"
    ok = next(r for r in rows if r.model == "gpt-5-mini")
    assert ok.output_text == f"You sent {MASK} to me." and ok.usage_raw["echo"] == MASK

    assert TOKEN not in caplog.text
    everything = await sync_to_async(pages)(alice, rows)
    assert MASK in everything
    assert TOKEN not in everything


def test_the_relay_scrubs_the_row_once_more_before_writing_it():
    """The second belt: whatever reached the relay unscrubbed is scrubbed before the row is written."""
    row = Completion(output_text=f"a {TOKEN} b", reasoning_text=TOKEN, request_id=TOKEN, error_code=TOKEN)
    row.error_message = f"boom {TOKEN}"
    row.rate_limit = {"retry-after": TOKEN}
    row.usage_raw = {"x": [TOKEN]}
    relay.redact_row(row, TOKEN)
    fields = [row.output_text, row.reasoning_text, row.request_id, row.error_code, row.error_message]
    assert TOKEN not in json.dumps([*fields, row.rate_limit, row.usage_raw])
    assert row.output_text == f"a {MASK} b"
