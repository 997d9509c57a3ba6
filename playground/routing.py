from django.urls import path

from playground.compare.consumers import CompareConsumer
from playground.usage.live import UsageConsumer

websocket_urlpatterns = [
    path("ws/compare/", CompareConsumer.as_asgi()),
    path("ws/usage/", UsageConsumer.as_asgi()),
]
