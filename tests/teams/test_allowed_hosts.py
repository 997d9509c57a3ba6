"""Allowed hosts are host:port pairs, and a check never shows what a non-gateway answered."""

import httpx
import pytest
from django.urls import reverse

from playground.teams.models import Branch
from tests.conftest import TOKEN
from tests.teams.test_check import use_transport

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
REDIS_SAYS = "-ERR unknown command 'GET', with args beginning with: '/v1/models' redis_version:7.2.4"


def make_branch(team, alice, base_url):
    branch = Branch(team=team, name="Probe", base_url=base_url, created_by=alice)
    branch.set_token(TOKEN)
    branch.save()
    return branch


def test_a_check_of_a_port_not_listed_is_refused_before_any_connection(client, alice, team, settings, monkeypatch):
    # A bare host allows 443 only: listing 127.0.0.1 must not open Redis on 6379.
    settings.GATEWAY_ALLOWED_HOSTS = ["127.0.0.1", "127.0.0.1:8001"]
    branch = make_branch(team, alice, "http://127.0.0.1:6379")
    calls = use_transport(monkeypatch, lambda request: httpx.Response(200, json={"data": []}))
    client.force_login(alice)
    html = client.post(reverse("teams:check", args=[branch.code]), **HTMX).content.decode()
    assert calls == []
    branch.refresh_from_db()
    assert "GATEWAY_ALLOWED_HOSTS" in branch.last_check_error
    assert "badge-error" in html


@pytest.mark.parametrize("content_type", ["text/plain", "text/html", "application/json"])
def test_a_check_shows_only_a_parsed_gateway_error_never_the_raw_body(
    client, alice, team, settings, monkeypatch, content_type
):
    settings.GATEWAY_ALLOWED_HOSTS = ["127.0.0.1:8001"]
    branch = make_branch(team, alice, "http://127.0.0.1:8001")
    body = REDIS_SAYS if content_type != "application/json" else '{"redis_version": "7.2.4", "role": "master"}'
    use_transport(monkeypatch, lambda request: httpx.Response(500, text=body, headers={"content-type": content_type}))
    client.force_login(alice)
    html = client.post(reverse("teams:check", args=[branch.code]), **HTMX).content.decode()
    branch.refresh_from_db()
    assert branch.last_check_error == "HTTP 500: The gateway answered HTTP 500 with no error message."
    assert "redis_version" not in html and "ERR unknown" not in html


def test_a_check_shows_the_message_of_a_gateway_error_envelope(client, alice, team, settings, monkeypatch):
    settings.GATEWAY_ALLOWED_HOSTS = ["127.0.0.1:8001"]
    branch = make_branch(team, alice, "http://127.0.0.1:8001")
    envelope = {"error": {"code": "forbidden", "message": "This token may not list models"}}
    use_transport(monkeypatch, lambda request: httpx.Response(403, json=envelope))
    client.force_login(alice)
    client.post(reverse("teams:check", args=[branch.code]), **HTMX)
    branch.refresh_from_db()
    assert branch.last_check_error == "HTTP 403: This token may not list models"


def test_a_check_of_a_name_that_rebinds_to_loopback_is_refused_when_connecting(client, alice, team, monkeypatch):
    """Validated with a public answer, then resolved again to 127.0.0.1 by the connection: refused."""
    import socket
    from functools import partial

    from gateway.client import make_client
    from playground import http
    from tests.gateway.test_transport import PUBLIC, RebindingDNS

    dns = RebindingDNS()
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    # The shared client of playground.http (closed with its loop), on the fake name server.
    monkeypatch.setattr(http, "make_client", partial(make_client, resolver=dns))
    branch = make_branch(team, alice, "https://gateway.rebind.test")
    client.force_login(alice)
    client.post(reverse("teams:check", args=[branch.code]), **HTMX)
    branch.refresh_from_db()
    assert dns.answers == [PUBLIC, "127.0.0.1"]
    assert "resolved to a loopback address (127.0.0.1) when connecting" in branch.last_check_error
    assert branch.last_ok is None
