import json
import logging

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from gateway.client import make_client
from playground.teams import checks
from playground.teams.checks import check_branch
from playground.teams.models import Branch
from tests.conftest import TOKEN

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
BAD_TOKEN = "sk-not-a-neon-credential-0000"


def check_url(branch):
    return reverse("teams:check", args=[branch.code])


@pytest.fixture
def loud_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def use_transport(monkeypatch, handler):
    """Route the check through httpx.MockTransport: exact responses, no sockets."""
    calls = []

    def recording(request):
        calls.append(request)
        return handler(request)

    monkeypatch.setattr(checks, "gateway_client", lambda: make_client(transport=httpx.MockTransport(recording)))
    return calls


def test_a_check_against_the_simulator_records_success_and_the_model_ids(client, alice, branch, loud_logs):
    client.force_login(alice)
    response = client.post(check_url(branch), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="branch-{branch.code}"')
    assert "badge-ok" in html
    branch.refresh_from_db()
    assert branch.last_checked is not None
    assert branch.last_ok == branch.last_checked
    assert branch.last_check_error == ""
    assert "gpt-5-mini" in branch.model_ids
    assert TOKEN not in html
    assert TOKEN not in loud_logs.text


def test_a_member_may_check_a_branch(client, bob, branch):
    client.force_login(bob)
    assert client.post(check_url(branch), **HTMX).status_code == 200
    branch.refresh_from_db()
    assert branch.healthy


def test_a_refused_token_is_recorded_as_a_failed_check(client, alice, branch, loud_logs):
    branch.set_token(BAD_TOKEN)
    branch.save()
    client.force_login(alice)
    html = client.post(check_url(branch), **HTMX).content.decode()
    branch.refresh_from_db()
    assert branch.last_checked is not None
    assert branch.last_ok is None
    assert branch.last_check_error == "HTTP 401: invalid or missing credential"
    assert "badge-error" in html
    assert "invalid or missing credential" in html
    assert BAD_TOKEN not in html
    assert BAD_TOKEN not in loud_logs.text


def test_without_htmx_the_check_redirects_with_a_message(client, alice, branch):
    client.force_login(alice)
    response = client.post(check_url(branch), follow=True)
    assert response.redirect_chain[-1][0] == reverse("teams:branches")
    assert "Simulator: OK" in response.content.decode()
    assert TOKEN not in response.content.decode()


def test_a_check_is_post_only(client, alice, branch):
    client.force_login(alice)
    assert client.get(check_url(branch)).status_code == 405


def test_a_gateway_without_a_model_list_is_probed_with_one_token_of_chat(monkeypatch, stored_branch):
    def handler(request):
        if request.url.path == "/v1/models":
            return httpx.Response(404, json={"error": {"message": "not found"}})
        body = json.loads(request.content)
        assert body["max_tokens"] == 1
        assert request.url.path == "/ai-gateway/mlflow/v1/chat/completions"
        chunk = {"choices": [{"delta": {"content": "p"}, "finish_reason": "length"}]}
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            content=f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode(),
        )

    calls = use_transport(monkeypatch, handler)
    ok, message = async_to_sync(check_branch)(stored_branch)
    assert ok, message
    assert [c.url.path for c in calls] == ["/v1/models", "/ai-gateway/mlflow/v1/chat/completions"]
    stored_branch.refresh_from_db()
    assert stored_branch.healthy
    assert stored_branch.model_ids == []


def test_a_token_echoed_by_the_gateway_is_scrubbed(monkeypatch, stored_branch):
    def handler(request):
        token = request.headers["authorization"].split()[-1]
        return httpx.Response(401, json={"error": {"message": f"credential {token} was revoked"}})

    use_transport(monkeypatch, handler)
    ok, message = async_to_sync(check_branch)(stored_branch)
    assert not ok
    assert TOKEN not in message
    assert "revoked" in message
    stored_branch.refresh_from_db()
    assert TOKEN not in stored_branch.last_check_error


def test_a_base_url_that_now_points_inside_is_refused_without_a_request(monkeypatch, team):
    branch = Branch(team=team, name="Sneaky", base_url="https://169.254.169.254")
    branch.set_token(TOKEN)
    branch.save()
    calls = use_transport(monkeypatch, lambda request: httpx.Response(200, json={"data": []}))
    ok, message = async_to_sync(check_branch)(branch)
    assert not ok
    assert "link-local" in message
    assert calls == []


def test_an_unreachable_gateway_is_a_failed_check(stored_branch):
    # stored_branch points at port 9 on loopback, where nothing listens.
    ok, message = async_to_sync(check_branch)(stored_branch)
    assert not ok
    assert "Could not connect" in message


def test_a_check_says_it_used_the_inherited_token(client, alice, branch):
    child = Branch.objects.create(
        team=branch.team, name="Preview", base_url=branch.base_url, parent=branch, inherit_token=True
    )
    client.force_login(alice)
    response = client.post(check_url(child), follow=True)
    assert "with the token inherited from Simulator" in response.content.decode()
    child.refresh_from_db()
    assert child.last_ok is not None


def test_a_branch_inheriting_from_no_one_fails_its_check_and_says_why(client, alice, team):
    orphan = Branch.objects.create(team=team, name="Orphan", base_url="http://127.0.0.1:9", inherit_token=True)
    client.force_login(alice)
    response = client.post(check_url(orphan), follow=True)
    assert "no ancestor has one" in response.content.decode()
