"""A write-only token must not follow a branch to a new host: a new scheme, host or port needs it again."""

import httpx
import pytest
from django.urls import reverse

from tests.conftest import TOKEN
from tests.teams.test_check import use_transport

from .conftest import OTHER_TOKEN

pytestmark = pytest.mark.django_db
ATTACKER = "http://127.0.0.1:7777"


@pytest.fixture(autouse=True)
def allowed(settings):
    # Both the branch's server and the "attacker's" are allowed: only the token rule stands in the way.
    settings.GATEWAY_ALLOWED_HOSTS = [
        "127.0.0.1",
        "localhost",
        "127.0.0.1:9",
        "localhost:9",
        "127.0.0.1:7777",
        "127.0.0.1:443",
    ]


def edit(client, branch, **data):
    form = {"name": branch.name, "neon_branch_id": "", "parent": "", "base_url": branch.base_url, "token": ""}
    form.update(data)
    return client.post(reverse("teams:edit", args=[branch.code]), form)


def models_ok(request):
    return httpx.Response(200, json={"data": [{"id": "gpt-5-mini"}]})


def test_a_new_host_with_a_blank_token_is_refused_and_check_never_sends_the_token_there(
    client, alice, stored_branch, monkeypatch
):
    client.force_login(alice)
    response = edit(client, stored_branch, base_url=ATTACKER)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter the token again" in html and "another server" in html
    stored_branch.refresh_from_db()
    assert stored_branch.base_url == "http://127.0.0.1:9"

    calls = use_transport(monkeypatch, models_ok)
    client.post(reverse("teams:check", args=[stored_branch.code]))
    assert calls, "the check called the branch's own server"
    assert all(request.url.port == 9 for request in calls)


@pytest.mark.parametrize(
    "new_url",
    ["http://127.0.0.1:7777", "https://127.0.0.1:9", "http://localhost:9", "https://127.0.0.1"],
    ids=["port", "scheme", "host", "scheme-and-default-port"],
)
def test_any_change_of_scheme_host_or_port_needs_the_token(client, alice, stored_branch, new_url):
    client.force_login(alice)
    assert "Enter the token again" in edit(client, stored_branch, base_url=new_url).content.decode()
    stored_branch.refresh_from_db()
    assert stored_branch.base_url == "http://127.0.0.1:9"


def test_a_new_path_on_the_same_server_keeps_the_token(client, alice, stored_branch):
    client.force_login(alice)
    response = edit(client, stored_branch, base_url="http://127.0.0.1:9/ai-gateway/mlflow/v1")
    assert response.status_code == 302
    stored_branch.refresh_from_db()
    assert stored_branch.base_url == "http://127.0.0.1:9/ai-gateway/mlflow/v1"
    assert stored_branch.token() == TOKEN


def test_a_new_host_with_the_token_entered_again_is_saved(client, alice, stored_branch):
    client.force_login(alice)
    assert edit(client, stored_branch, base_url=ATTACKER, token=OTHER_TOKEN).status_code == 302
    stored_branch.refresh_from_db()
    assert stored_branch.base_url == ATTACKER and stored_branch.token() == OTHER_TOKEN


def test_the_admin_refuses_a_new_host_without_the_token_too(client, django_user_model, stored_branch):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(root)
    url = reverse("admin:teams_branch_change", args=[stored_branch.pk])
    data = {"team": stored_branch.team_id, "name": "Main", "neon_branch_id": "", "model_ids": "[]"}
    response = client.post(url, {**data, "base_url": ATTACKER, "new_token": ""})
    assert response.status_code == 200 and "Enter the token again" in response.content.decode()
    stored_branch.refresh_from_db()
    assert stored_branch.base_url == "http://127.0.0.1:9"
    assert client.post(url, {**data, "base_url": ATTACKER, "new_token": OTHER_TOKEN}).status_code == 302
    stored_branch.refresh_from_db()
    assert stored_branch.base_url == ATTACKER and stored_branch.token() == OTHER_TOKEN
