from django.urls import path

from playground.compare.consumers import CompareConsumer

websocket_urlpatterns = [
    path("ws/compare/", CompareConsumer.as_asgi()),
]
