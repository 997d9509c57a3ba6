"""One pooled gateway client per process (per event loop) for all gateway calls."""

import asyncio
import weakref

from django.conf import settings

from gateway.client import make_client

_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple]" = weakref.WeakKeyDictionary()


def gateway_client():
    """The shared AsyncClient of the running loop (daphne has one; `async_to_sync` and the
    tests make one loop per call or test). GATEWAY_ALLOWED_HOSTS is read on each new connection."""
    loop = asyncio.get_running_loop()
    client, _closer = _clients.get(loop, (None, None))
    if client is None or client.is_closed:
        client = make_client(
            connect_timeout=settings.GATEWAY_CONNECT_TIMEOUT,
            read_timeout=settings.GATEWAY_READ_TIMEOUT,
            max_connections=settings.GATEWAY_MAX_CONNECTIONS,
            keepalive=settings.GATEWAY_KEEPALIVE_SECONDS,
        )
        # The pool is closed when its loop shuts down (asyncio.run and asgiref's per-call
        # loops close async generators first): aiohttp complains of a session left open.
        closer = _close_at_shutdown(client)
        loop.create_task(anext(closer))
        _clients[loop] = (client, closer)  # the loop holds its generators weakly
    return client


async def _close_at_shutdown(client):
    try:
        yield
    finally:
        await client.aclose()
