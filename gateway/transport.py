"""The HTTP transport under the gateway client: httpx's API over aiohttp's connection pool.

httpx's own pool (httpcore) spends most of its CPU assigning requests to connections, a
cost that grows with the square of the open connections; aiohttp's pool does not
(measured in `bench/relay.py`). `httpx-aiohttp` puts aiohttp under an `httpx.AsyncClient`,
so `gateway/client.py` and its tests (which hand in `httpx.MockTransport`) stay as they are.

This module adds two things to it:

- The address check at connect time. The resolver the connection pool uses refuses
  private, loopback and link-local answers unless the host:port is allowed, so a name
  whose DNS answer changes after the URL was validated (DNS rebinding) cannot reach
  one. Only the addresses change: TLS still verifies the certificate against, and sends
  SNI for, the host name in the URL, as aiohttp does for any resolved name.
- Errors as httpx raises them with its own transport. httpx-aiohttp maps a refused
  connection to `ConnectTimeout` and a connection dropped mid-body to `ReadError`; here
  they become `ConnectError` and `RemoteProtocolError` again, so the client's mapping to
  `GatewayError` kinds holds whatever transport is underneath.
"""

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from httpx_aiohttp import AiohttpTransport

from .addresses import refusal

AllowedHosts = Callable[[], frozenset[tuple[str, int]]]


class AddressRefused(OSError):
    """The resolver refused the addresses a host name resolved to."""


class AddressRefusedError(httpx.ConnectError):
    """A connection the address check refused: raised instead of connecting."""


def _refused(host: str, port: int, address: str, reason: str) -> str:
    return (
        f"Refused to connect to {host}: it resolved to {reason} address ({address}) when connecting. "
        f"Only public addresses are allowed unless {host}:{port} is listed in GATEWAY_ALLOWED_HOSTS."
    )


class CheckedResolver(AbstractResolver):
    """Resolves through `inner`, then refuses the answer if any address is not public
    (unless host:port is allowed). Every connection of the pool resolves through it."""

    def __init__(self, allowed: AllowedHosts, inner: AbstractResolver | None = None) -> None:
        self.allowed = allowed
        self.inner = inner or aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers: list[ResolveResult] = await self.inner.resolve(host, port, family)
        if (host.lower().rstrip("."), port) in self.allowed():
            return answers
        for answer in answers:
            reason = refusal(answer["host"])
            if reason:
                # Any bad answer refuses the name: the pool could pick any of them.
                raise AddressRefused(_refused(host, port, answer["host"], reason))
        return answers

    async def close(self) -> None:
        await self.inner.close()


def _remap(exc: httpx.HTTPError) -> httpx.HTTPError:
    """The httpx error httpx's own transport would have raised for this aiohttp failure."""
    cause = exc.__cause__
    message = str(exc)
    if isinstance(cause, aiohttp.ClientConnectorError) and isinstance(cause.os_error, AddressRefused):
        return AddressRefusedError(str(cause.os_error))
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(cause, aiohttp.SocketTimeoutError | asyncio.TimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(cause, aiohttp.ClientConnectorError):
        # Refused, DNS failure, TLS certificate error: no connection was made.
        return httpx.ConnectError(message)
    if isinstance(cause, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        # Closed before the response (or its body) was complete.
        return httpx.RemoteProtocolError(message)
    if isinstance(cause, aiohttp.ClientOSError):
        return httpx.ReadError(message)
    return exc


@functools.lru_cache(maxsize=1024)
def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address when `host` is an IP literal (parsed once per host: every request asks)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class _Body(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self.inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.inner:
                yield chunk
        except httpx.HTTPError as exc:
            raise _remap(exc) from None

    async def aclose(self) -> None:
        await self.inner.aclose()


class GatewayTransport(AiohttpTransport):
    """httpx-aiohttp with the address check and httpx's error classes; redirects are never
    followed (httpx-aiohttp asks aiohttp not to, and the client does not either)."""

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        allowed: AllowedHosts,
        resolver: AbstractResolver | None = None,
        verify: ssl.SSLContext | str | bool = True,
    ) -> None:
        self.allowed = allowed
        self._inner_resolver = resolver
        super().__init__(verify=verify, limits=limits, client=self._session)

    def _session(self) -> aiohttp.ClientSession:
        # Made on the first request, inside the event loop that will use it.
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            resolver=CheckedResolver(self.allowed, self._inner_resolver),
        )
        # trust_env=False: no proxy from the environment ever sees a token. No cookie jar: a
        # cookie one team's gateway sets must not go with another's request (gateway.client).
        return aiohttp.ClientSession(connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar())

    def _check_literal(self, url: httpx.URL) -> None:
        # An IP address in the URL is not resolved, so the resolver never sees it.
        address = _ip_literal(url.host)
        if address is None:
            return
        port = url.port or (443 if url.scheme == "https" else 80)
        if (url.host, port) in self.allowed():
            return
        reason = refusal(address)
        if reason:
            raise AddressRefusedError(_refused(url.host, port, url.host, reason))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._check_literal(request.url)
        try:
            response = await super().handle_async_request(request)
        except httpx.HTTPError as exc:
            raise _remap(exc) from None
        assert isinstance(response.stream, httpx.AsyncByteStream)  # httpx-aiohttp's body is async
        response.stream = _Body(response.stream)
        return response
