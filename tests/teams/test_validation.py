import socket

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError

from playground.teams.validation import avalidate_base_url, validate_base_url, validate_neon_branch_id


def fake_dns(monkeypatch, answers):
    """Resolve names from `answers` (name -> IP), fail for anything else: no network."""

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = socket.AF_INET6 if ":" in answers[host] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def refusal(url):
    with pytest.raises(ValidationError) as info:
        validate_base_url(url)
    return " ".join(info.value.messages)


def test_a_public_https_url_is_accepted_and_normalised(monkeypatch):
    fake_dns(monkeypatch, {"br-x-api.ai.c-2.us-east-2.aws.neon.tech": "3.5.140.2"})
    url = validate_base_url("  HTTPS://BR-X-API.AI.C-2.US-EAST-2.AWS.NEON.TECH/ ")
    assert url == "https://br-x-api.ai.c-2.us-east-2.aws.neon.tech"


def test_a_public_ip_literal_needs_no_dns():
    assert validate_base_url("https://8.8.8.8:8443/v1/") == "https://8.8.8.8:8443/v1"


def test_http_is_refused_for_hosts_not_listed():
    assert "must use https" in refusal("http://8.8.8.8")


def test_http_is_allowed_for_listed_host_and_port_pairs(settings):
    settings.GATEWAY_ALLOWED_HOSTS = ["127.0.0.1:8001", "localhost:8001", "[::1]:8002"]
    assert validate_base_url("http://127.0.0.1:8001") == "http://127.0.0.1:8001"
    assert validate_base_url("http://localhost:8001/") == "http://localhost:8001"
    assert validate_base_url("http://[::1]:8002") == "http://[::1]:8002"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:6379", "http://127.0.0.1:5432", "https://127.0.0.1", "http://[::1]:8001"]
)
def test_other_ports_of_a_listed_host_are_refused(settings, url):
    settings.GATEWAY_ALLOWED_HOSTS = ["127.0.0.1:8001", "localhost:8001"]
    message = refusal(url)
    assert "must use https" in message or "loopback" in message


def test_a_bare_host_allows_port_443_only(settings):
    settings.GATEWAY_ALLOWED_HOSTS = ["127.0.0.1"]
    assert validate_base_url("https://127.0.0.1") == "https://127.0.0.1"
    assert validate_base_url("https://127.0.0.1:443/v1") == "https://127.0.0.1:443/v1"
    assert "loopback" in refusal("https://127.0.0.1:6379")
    assert "must use https" in refusal("http://127.0.0.1:6379")
    assert "must use https" in refusal("http://127.0.0.1")


def test_loopback_is_refused_when_not_listed(settings):
    settings.GATEWAY_ALLOWED_HOSTS = []
    assert "loopback" in refusal("https://127.0.0.1:8001")
    assert "loopback" in refusal("https://[::1]/")


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://10.0.0.5", "private"),
        ("https://192.168.1.1", "private"),
        ("https://172.16.0.1", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://0.0.0.0", "unspecified"),
        ("https://224.0.0.1", "multicast"),
        ("https://[::ffff:10.0.0.1]", "private"),
        ("https://[fe80::1]", "link-local"),
        ("https://100.64.0.1", "non-public"),
    ],
)
def test_non_public_addresses_are_refused(url, reason):
    message = refusal(url)
    assert reason in message
    assert "GATEWAY_ALLOWED_HOSTS" in message


def test_a_name_that_resolves_to_a_private_address_is_refused(monkeypatch):
    fake_dns(monkeypatch, {"gateway.internal.example": "10.1.2.3"})
    assert "private address (10.1.2.3)" in refusal("https://gateway.internal.example")


def test_a_dns_failure_says_so(monkeypatch):
    fake_dns(monkeypatch, {})
    assert "could not be resolved" in refusal("https://no-such-host.example")


@pytest.mark.parametrize("url", ["https://user:pass@8.8.8.8", "https://user@8.8.8.8", "https://:secret@8.8.8.8"])
def test_credentials_in_the_url_are_refused(url):
    assert "user name or password" in refusal(url)


@pytest.mark.parametrize("url", ["https://8.8.8.8/?key=1", "https://8.8.8.8/#frag", "https://8.8.8.8?"])
def test_a_query_or_fragment_is_refused(url):
    assert "query string or fragment" in refusal(url)


@pytest.mark.parametrize("url", ["ftp://8.8.8.8", "8.8.8.8", "javascript:alert(1)", ""])
def test_other_schemes_and_junk_are_refused(url):
    refusal(url)


def test_the_async_variant_checks_the_same_way():
    assert async_to_sync(avalidate_base_url)("https://8.8.8.8") == "https://8.8.8.8"
    with pytest.raises(ValidationError):
        async_to_sync(avalidate_base_url)("https://169.254.169.254")


def test_neon_branch_ids_are_checked():
    assert validate_neon_branch_id(" br-winter-pond-aptw82ef ") == "br-winter-pond-aptw82ef"
    assert validate_neon_branch_id("") == ""
    for bad in ("winter-pond", "br-", "BR-X", "br-x y", "ep-cool-a1"):
        with pytest.raises(ValidationError):
            validate_neon_branch_id(bad)


def test_without_resolving_an_address_in_the_url_is_still_checked(monkeypatch):
    # The run path skips the DNS lookup (the client's resolver checks each connection), but
    # an IP address in the URL is never looked up by anyone: it is checked here.
    def no_dns(*args, **kwargs):
        raise AssertionError("no DNS lookup at run time")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(ValidationError, match="private address"):
        validate_base_url("https://10.1.2.3", resolve=False)
    with pytest.raises(ValidationError, match="link-local"):
        validate_base_url("https://[fe80::1]", resolve=False)
    assert validate_base_url("https://gateway.example.com/", resolve=False) == "https://gateway.example.com"


def test_a_url_checked_without_a_lookup_is_remembered_for_the_same_allowed_hosts(settings):
    from playground.teams.validation import _validated_without_lookup

    settings.GATEWAY_ALLOWED_HOSTS = ["127.0.0.1:8001"]
    assert validate_base_url("http://127.0.0.1:8001/", resolve=False) == "http://127.0.0.1:8001"
    hits = _validated_without_lookup.cache_info().hits
    assert validate_base_url("http://127.0.0.1:8001/", resolve=False) == "http://127.0.0.1:8001"
    assert _validated_without_lookup.cache_info().hits == hits + 1
    # GATEWAY_ALLOWED_HOSTS changed: the same URL is judged again, and refused.
    settings.GATEWAY_ALLOWED_HOSTS = []
    with pytest.raises(ValidationError, match="must use https"):
        validate_base_url("http://127.0.0.1:8001/", resolve=False)
    # A refusal is not remembered either way.
    settings.GATEWAY_ALLOWED_HOSTS = ["127.0.0.1:8001"]
    assert validate_base_url("http://127.0.0.1:8001/", resolve=False) == "http://127.0.0.1:8001"


def test_a_private_address_is_refused_without_a_lookup_too():
    with pytest.raises(ValidationError, match="private"):
        validate_base_url("https://10.0.0.5/", resolve=False)
