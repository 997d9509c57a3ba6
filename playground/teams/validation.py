"""What a branch may hold: a gateway base URL that is safe to call, a Neon branch id.

The base URL is checked, with a DNS lookup, when it is saved and before the branch check and
sync_models call it; a run start checks its form only (compare/runs.py), since every
connection is checked again on the address it really uses (gateway/transport.py), which
a host whose DNS answer changed since (rebinding) cannot pass. This is the guard against
server-side request forgery: a branch owner must not make the server call its own network.
"""

import functools
import ipaddress
import re
import socket
from urllib.parse import urlsplit, urlunsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import URLValidator

from gateway.addresses import parse_allowed_hosts, refusal

# Neon branch ids look like br-winter-pond-aptw82ef (docs/gateway.md, "Hosts and base URL").
NEON_BRANCH_ID_RE = re.compile(r"^br-[a-z0-9]+(?:-[a-z0-9]+)*$")

_syntax = URLValidator(schemes=["http", "https"])


def allowed_hosts() -> frozenset[tuple[str, int]]:
    """The (host, port) pairs that may use http and private addresses (the simulator on loopback)."""
    return _parsed_allowed_hosts(tuple(settings.GATEWAY_ALLOWED_HOSTS))


@functools.lru_cache(maxsize=8)
def _parsed_allowed_hosts(entries: tuple[str, ...]) -> frozenset[tuple[str, int]]:
    try:
        return parse_allowed_hosts(entries)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def _resolve(host, port):
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise ValidationError(
            f"The host {host} could not be resolved (DNS lookup failed). Check the base URL.",
            code="dns",
        ) from None
    addresses = []
    for *_, sockaddr in infos:
        # IPv6 scope ids (fe80::1%eth0) are not part of the address.
        addresses.append(ipaddress.ip_address(sockaddr[0].split("%", 1)[0]))
    if not addresses:
        raise ValidationError(f"The host {host} has no address.", code="dns")
    return addresses


def _literal(host):
    """[the address] when the host is an IP address, else [] (nothing to look up)."""
    try:
        return [ipaddress.ip_address(host.split("%", 1)[0])]
    except ValueError:
        return []


def validate_base_url(url: str, resolve: bool = True) -> str:
    """The normalised base URL, or ValidationError saying what is wrong with it.

    Normalised: scheme and host in lower case, no trailing slash, nothing after the path.
    `resolve=False` leaves out the DNS lookup (the run path: the gateway client's resolver
    checks every address it connects to, gateway/transport.py, so a lookup here would only
    delay the first token). Without the lookup the answer depends only on the URL and
    GATEWAY_ALLOWED_HOSTS, so a URL that passed is remembered for them (a run start checks its
    branch's URL every time: 60-80 us of parsing here).
    """
    if not resolve:
        return _validated_without_lookup(url, allowed_hosts())
    return _validate(url, True, allowed_hosts())


@functools.lru_cache(maxsize=256)
def _validated_without_lookup(url: str, allowed: frozenset[tuple[str, int]]) -> str:
    return _validate(url, False, allowed)  # a refusal raises, and is not remembered


def _validate(url: str, resolve: bool, allowed_pairs: frozenset[tuple[str, int]]) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationError("Enter the gateway's base URL.", code="required")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValidationError("The base URL must start with https://.", code="scheme")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(
            "The base URL must not contain a user name or password; put the token in the Token field.",
            code="credentials",
        )
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ValidationError("The base URL must not have a query string or fragment (?... or #...).", code="query")
    try:
        _syntax(url)
    except ValidationError:
        raise ValidationError("Enter a valid URL, like https://br-xxx-api.ai.c-2.us-east-2.aws.neon.tech.") from None
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        raise ValidationError("The base URL has an invalid port.", code="port") from None
    if not host:
        raise ValidationError("The base URL has no host.", code="host")

    effective_port = port or (443 if scheme == "https" else 80)
    allowed = (host, effective_port) in allowed_pairs
    if scheme == "http" and not allowed:
        raise ValidationError(
            "The base URL must use https. Plain http is allowed only for host:port pairs listed in "
            "GATEWAY_ALLOWED_HOSTS.",
            code="scheme",
        )
    if not allowed:
        for ip in _resolve(host, effective_port) if resolve else _literal(host):
            reason = refusal(ip)
            if reason:
                raise ValidationError(
                    f"The host {host} resolves to {reason} address ({ip}); only public addresses are allowed "
                    "unless its host:port is listed in GATEWAY_ALLOWED_HOSTS.",
                    code="address",
                )

    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


# getaddrinfo blocks, so it runs in a worker thread; it touches no database.
avalidate_base_url = sync_to_async(validate_base_url, thread_sensitive=False)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port filled in for http and https."""
    parts = urlsplit((url or "").strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"https": 443, "http": 80}.get(scheme)


def token_must_be_reentered(old_url: str, new_url: str) -> str:
    """Why a stored token may not go to `new_url`, or "" when it may.

    A token is write-only: whoever edits a branch cannot read it, but could send it to a
    host of their own by changing the URL and pressing Check. So a new scheme, host or
    port needs the token entered again.
    """
    if not old_url or origin(old_url) == origin(new_url):
        return ""
    return (
        "The base URL now points to another server (scheme, host or port changed). Enter the token again: "
        "a stored token is only ever sent to the server it was entered for."
    )


def validate_neon_branch_id(value: str) -> str:
    value = (value or "").strip()
    if value and not NEON_BRANCH_ID_RE.match(value):
        raise ValidationError(
            "A Neon branch id looks like br-winter-pond-aptw82ef (lower case, starting with br-).",
            code="neon_branch_id",
        )
    return value
