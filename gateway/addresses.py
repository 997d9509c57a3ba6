"""Which servers a gateway call may reach: public addresses, and the host:port pairs allowed.

Used twice: when a base URL is saved or about to be called (`playground/teams/validation.py`)
and at connect time, on the addresses the connection really uses (`gateway/transport.py`),
so a host whose DNS answer changes in between (DNS rebinding) still cannot reach a private one.
"""

import ipaddress
from collections.abc import Iterable


def parse_allowed_hosts(entries: Iterable[str]) -> frozenset[tuple[str, int]]:
    """{(host, port)} from entries like `gw.internal:8443`, `127.0.0.1:8001`, `[::1]:8001` or
    `gw.internal`. A bare host allows port 443 only: listing a host must not open all its ports."""
    allowed: set[tuple[str, int]] = set()
    for entry in entries:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        else:  # a host name, an IPv4 address or a bare IPv6 address
            host, port = entry, ""
        if port and not port.isdigit():
            raise ValueError(f"GATEWAY_ALLOWED_HOSTS: {entry!r} has an invalid port")
        allowed.add((host, int(port) if port else 443))
    return frozenset(allowed)


def refusal(ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why this address must not be called ("a private", ...), or None when it is public."""
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip.split("%", 1)[0])  # IPv6 scope ids (fe80::1%eth0) are not part of it
    if ip.version == 6 and ip.ipv4_mapped is not None:
        # ::ffff:10.0.0.1 reaches 10.0.0.1.
        return refusal(ip.ipv4_mapped)
    for attribute, reason in (
        ("is_unspecified", "an unspecified"),
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local"),
        ("is_multicast", "a multicast"),
        ("is_private", "a private"),
        ("is_reserved", "a reserved"),
    ):
        if getattr(ip, attribute):
            return reason
    if not ip.is_global:
        # Shared address space (100.64.0.0/10) and the like: not on the internet either.
        return "a non-public"
    return None
