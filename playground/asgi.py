import gc
import os
from importlib import import_module

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
# Django must be set up before anything that imports models (the consumers).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.validators import URLValidator  # noqa: E402

from playground.compare import lifecycle  # noqa: E402
from playground.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": lifecycle.TrackSockets(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
# Under daphne: checkpoint, heartbeat and start-up sweep; live answers written on SIGTERM.
lifecycle.install()

# What start-up built (Django, the apps, their modules and URLs) lives as long as the process.
# Frozen, it is out of the collector's way: a full collection walks only what requests made
# since (bench/relay.py: full collections of 20-50 ms during a run, a tail on the relay's
# latency per chunk, against under 10 ms once frozen).
import_module(settings.ROOT_URLCONF)  # the views' modules: imported now, not by the first request
# Django compiles its URL validator's pattern on first use: about 50 ms of Python holding the
# GIL, which a run start's check of its branch's base URL (teams.validation) would spend on the
# first run's way to its first token, stalling every stream of the process meanwhile.
URLValidator.regex.pattern  # noqa: B018
gc.collect()
gc.freeze()
# Collections less often: a relay allocates a few objects per chunk and keeps few, so most of
# each young collection is wasted. At 150 and 300 streams (bench/relay.py, two runs each) this cut
# the pauses of over 2 ms by a third (200-240 ms of them to 135, full collections 3 to 1) and the
# 300-stream p99 per chunk from about 270 ms to 160-200.
gc.set_threshold(10_000, 20, 100)
