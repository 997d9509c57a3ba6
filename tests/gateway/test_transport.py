"""The aiohttp transport: the address check at connect time (DNS rebinding) and httpx's error kinds.

No test here reaches a non-loopback address: the resolvers are fakes, and a fake refuses
(fails the test) before it would hand a public address to a connection.
"""

import asyncio
import socket

import httpx
import pytest
from aiohttp.abc import AbstractResolver

from gateway import client as gw
from gateway import stream as events
from gateway.addresses import parse_allowed_hosts, refusal
from gateway.transport import GatewayTransport
from playground.http import gateway_client
from tests.conftest import TOKEN

PUBLIC = "93.184.216.34"


class RebindingDNS(AbstractResolver):
    """A name server that answers a public address the first time a name is asked, then 127.0.0.1.

    `getaddrinfo` stands in for socket.getaddrinfo (the check when a URL is validated),
    `resolve` for the connection pool's lookups. It never gives a connection a public
    address: the test fails instead, before anything is dialled.
    """

    def __init__(self):
        self.answers = []

    def _next(self):
        address = PUBLIC if not self.answers else "127.0.0.1"
        self.answers.append(address)
        return address

    def getaddrinfo(self, host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (self._next(), port))]

    async def resolve(self, host, port=0, family=socket.AF_INET):
        address = self._next()
        assert refusal(address), f"the test would connect to the public address {address}"
        return [{"hostname": host, "host": address, "port": port, "family": family, "proto": 0, "flags": 0}]

    async def close(self):
        pass


@pytest.fixture
def listener():
    """A loopback port we own: anything that connects to it is seen (and nothing should)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)

        def accepted():
            try:
                server.accept()[0].close()
            except BlockingIOError:
                return False
            return True

        yield server.getsockname()[1], accepted


async def stream(client, base_url):
    async for _ in gw.stream_chat(client, base_url=base_url, token=TOKEN, model="gpt-5-mini", messages=[]):
        pass


async def test_a_name_that_rebinds_to_loopback_is_refused_at_connect_time(listener):
    port, accepted = listener
    dns = RebindingDNS()
    dns.getaddrinfo("gateway.rebind.test", port)  # the URL was validated: a public address then
    with pytest.raises(gw.GatewayError) as info:
        async with gw.make_client(resolver=dns, allowed_hosts=[]) as client:
            await stream(client, f"https://gateway.rebind.test:{port}")
    assert info.value.code == "address_refused" and info.value.status is None
    assert "resolved to a loopback address (127.0.0.1) when connecting" in info.value.message
    assert "GATEWAY_ALLOWED_HOSTS" in info.value.message
    assert dns.answers == [PUBLIC, "127.0.0.1"]
    assert not accepted()


async def test_an_ip_address_in_the_url_is_checked_too(listener):
    port, accepted = listener
    with pytest.raises(gw.GatewayError) as info:
        async with gw.make_client(allowed_hosts=["127.0.0.1:9"]) as client:
            await stream(client, f"http://127.0.0.1:{port}")
    assert info.value.code == "address_refused"
    assert not accepted()


async def test_an_allowed_host_and_port_may_resolve_to_loopback(simulator):
    class Loopback(RebindingDNS):
        def _next(self):
            self.answers.append("127.0.0.1")
            return "127.0.0.1"

    port = int(simulator.rsplit(":", 1)[1])
    dns = Loopback()
    async with gw.make_client(resolver=dns, allowed_hosts=[f"sim.test:{port}"]) as client:
        models = await gw.list_models(client, base_url=f"http://sim.test:{port}", token=TOKEN)
    assert models and dns.answers == ["127.0.0.1"]


async def test_the_allowed_hosts_are_read_from_the_settings_on_each_connection(settings, listener):
    port, accepted = listener
    settings.GATEWAY_ALLOWED_HOSTS = []
    async with gw.make_client() as client:
        with pytest.raises(gw.GatewayError) as info:
            await stream(client, f"http://127.0.0.1:{port}")
        assert info.value.code == "address_refused" and not accepted()
        settings.GATEWAY_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]
        # Allowed now: it connects, and the listener never answers (a read timeout).
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"http://127.0.0.1:{port}/", timeout=httpx.Timeout(2.0, read=0.2))
    assert accepted()


def test_a_bare_host_allows_443_only():
    assert parse_allowed_hosts(["gw.internal", "127.0.0.1:8001", "[::1]:8002", "::1"]) == {
        ("gw.internal", 443),
        ("127.0.0.1", 8001),
        ("::1", 8002),
        ("::1", 443),
    }
    with pytest.raises(ValueError):
        parse_allowed_hosts(["gw.internal:http"])


def test_the_client_runs_on_the_aiohttp_transport_with_the_configured_pool_and_no_redirects():
    client = gw.make_client(max_connections=7)
    transport = client._transport
    assert isinstance(transport, GatewayTransport)
    assert transport.limits.max_connections == 7
    assert client.follow_redirects is False


async def test_the_process_client_keeps_idle_connections_as_long_as_the_setting_says(settings):
    settings.GATEWAY_KEEPALIVE_SECONDS = 42.0
    assert gateway_client()._transport.limits.keepalive_expiry == 42.0


@pytest.mark.parametrize(("keepalive", "connections"), [(5.0, 1), (0.05, 2)])
async def test_an_idle_connection_is_reused_until_the_keepalive_ends(keepalive, connections):
    """Two answers 0.3 s apart: within the keep-alive they share one connection (no new
    handshake), past it the pool has closed the first and the second opens another."""
    body = PIECE + b"data: [DONE]\n\n"
    opened = []

    async def serve(reader, writer):
        opened.append(writer)
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(CHUNKED_HEAD + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with gw.make_client(keepalive=keepalive, allowed_hosts=[f"127.0.0.1:{port}"]) as client:
            for _ in range(2):
                texts = [
                    event.text
                    async for event in gw.stream_chat(
                        client, base_url=f"http://127.0.0.1:{port}", token=TOKEN, model="m", messages=[]
                    )
                    if isinstance(event, events.TextDelta)
                ]
                assert texts == ["Hel"]
                await asyncio.sleep(0.3)
    finally:
        server.close()
    assert len(opened) == connections


async def test_connection_refused_is_a_connection_error_not_a_timeout():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound and released: nothing listens there now
    with pytest.raises(gw.GatewayError) as info:
        async with gw.make_client(allowed_hosts=[f"127.0.0.1:{port}"]) as client:
            await stream(client, f"http://127.0.0.1:{port}")
    assert info.value.code == "connection_error"


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
PIECE = b'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n\n'


@pytest.mark.parametrize(
    "reply",
    [b"", CHUNKED_HEAD + b"%x\r\n" % len(PIECE) + PIECE + b"\r\n"],
    ids=["closed-before-the-response", "closed-mid-body"],
)
async def test_a_connection_dropped_early_is_a_stream_cut(reply):
    """httpx-aiohttp raises these as ReadError / ConnectTimeout; the client says stream_cut as before."""
    import asyncio

    async def serve(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.transport.abort() if not reply else writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    events = []
    try:
        with pytest.raises(gw.GatewayError) as info:
            async with gw.make_client(allowed_hosts=[f"127.0.0.1:{port}"]) as client:
                async for event in gw.stream_chat(
                    client, base_url=f"http://127.0.0.1:{port}", token=TOKEN, model="m", messages=[]
                ):
                    events.append(event)
    finally:
        server.close()
    assert info.value.code == "stream_cut"
    if reply:
        assert "".join(e.text for e in events if hasattr(e, "text")) == "Hel"


def self_signed(tmp_path, name):
    """A certificate for `name` (and its key) in PEM files, made here: no network, no CA."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


async def test_tls_is_verified_for_the_url_host_name_with_sni_while_connecting_to_the_checked_address(tmp_path):
    """The resolver changes only the address: the certificate is checked against, and SNI
    names, the host in the URL."""
    import asyncio
    import ssl

    name = "gateway.tls.test"
    cert_file, key_file = self_signed(tmp_path, name)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_file, key_file)
    sni = []
    server_ctx.sni_callback = lambda sock, server_name, ctx: sni.append(server_name)

    async def serve(reader, writer):
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"data":[]}')
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]

    class Loopback(RebindingDNS):
        def _next(self):
            self.answers.append("127.0.0.1")
            return "127.0.0.1"

    def client(verify):
        transport = GatewayTransport(
            limits=httpx.Limits(max_connections=4),
            allowed=lambda: parse_allowed_hosts([f"{name}:{port}"]),
            resolver=Loopback(),
            verify=verify,
        )
        return httpx.AsyncClient(transport=transport)

    try:
        # The system's CAs do not know this certificate: refused, verification is on.
        with pytest.raises(gw.GatewayError) as info:
            async with client(True) as http:
                await gw.list_models(http, base_url=f"https://{name}:{port}", token=TOKEN)
        assert info.value.code == "connection_error"
        # Trusting it, the name in the URL matches the certificate (the address does not).
        async with client(ssl.create_default_context(cafile=str(cert_file))) as http:
            assert await gw.list_models(http, base_url=f"https://{name}:{port}", token=TOKEN) == []
    finally:
        server.close()
    assert sni and set(sni) == {name}


class LoopbackDNS(AbstractResolver):
    """Every name is 127.0.0.1 (the host:port must be allowed, as for any private address)."""

    async def resolve(self, host, port=0, family=socket.AF_INET):
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": family, "proto": 0, "flags": 0}]

    async def close(self):
        pass


@pytest.mark.parametrize("host", ["gateway.test", "127.0.0.1"])
async def test_a_cookie_one_gateway_answer_sets_never_goes_with_a_later_request(host):
    """One pooled client serves every team: team A's gateway sets a cookie (session affinity,
    say); team B's request to the same host must not carry it. Neither layer keeps cookies."""
    import asyncio

    seen = []
    stream_body = b'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\ndata: [DONE]\n\n'

    async def serve(reader, writer):
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.lower().split(b"\r\n")
                    if line.startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            seen.append(head.decode().lower())
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"set-cookie: affinity=team-a-secret; Path=/; Max-Age=3600\r\n"
                b"content-length: %d\r\n\r\n" % len(stream_body) + stream_body
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with gw.make_client(allowed_hosts=[f"{host}:{port}"], resolver=LoopbackDNS()) as client:
            for token in (TOKEN, "nt_live_team_b_token_00000000000000000000"):
                events = [
                    e
                    async for e in gw.stream_chat(
                        client, base_url=f"http://{host}:{port}", token=token, model="gpt-5-mini", messages=[]
                    )
                ]
                assert "".join(getattr(e, "text", "") for e in events) == "Hi"
            assert len(client.cookies) == 0
            with pytest.raises(TypeError, match="no cookies"):
                client.cookies = {"a": "b"}
    finally:
        server.close()
    assert len(seen) == 2
    assert "affinity" not in seen[1] and "cookie:" not in seen[1]
