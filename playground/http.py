"""One pooled httpx client per process (per event loop) for all gateway calls."""

import asyncio
import weakref

from django.conf import settings

from gateway.client import make_client

_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object]" = weakref.WeakKeyDictionary()


def gateway_client():
    """The shared AsyncClient of the running loop (daphne has one; tests make one per test)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = make_client(
            connect_timeout=settings.GATEWAY_CONNECT_TIMEOUT,
            read_timeout=settings.GATEWAY_READ_TIMEOUT,
            max_connections=settings.GATEWAY_MAX_CONNECTIONS,
        )
        _clients[loop] = client
    return client
