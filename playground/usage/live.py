"""Live Usage pages: each finished request is announced to its team's channel-layer group
(Redis when REDIS_URL is set, so every daphne process hears it), and each open Usage page
holds a websocket in that group and reloads its results when a request lands.

The announcement carries only the request's code: each page reloads through its own,
access-checked, filtered view, so no row is pushed to someone who may not see it.
"""

import asyncio
import logging
from contextlib import suppress
from urllib.parse import parse_qs

from asgiref.sync import async_to_sync, sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.db import transaction
from django.http import Http404

from playground.compare.writes import writing_loop
from playground.teams.access import get_team_for_user

log = logging.getLogger(__name__)


def group_name(team_id):
    return f"usage.team.{team_id}"


def on_completions_finished(sender, completions, **kwargs):
    """Receiver of compare's completions_finished (on the database thread): one group send
    per team, after the transaction that wrote the rows commits (a page reloading at once
    must find them)."""
    layer = get_channel_layer()
    if layer is None:
        return
    latest = {}
    for completion in completions:
        latest[completion.team_id] = str(completion.code)
    loop = writing_loop.get()
    transaction.on_commit(lambda: _announce(layer, latest, loop))


_sending = set()  # the announcements under way in the loop (a task must be referenced)


def _announce(layer, latest, loop=None):
    """The group sends of a committed write. From the relay's writes they are handed to its
    event loop and not waited for: waiting held the database thread for as long as the loop
    took to get to them (bench/relay.py, 150 answers ending together: 4-9 ms a batch of
    finished rows, every later write and run start of the process behind it). Elsewhere (a
    sweep, a command: no loop awaits the write) they are made here."""
    if loop is None:
        async_to_sync(_send)(layer, latest)
        return
    with suppress(RuntimeError):  # the loop has closed: no page of it is left to tell
        loop.call_soon_threadsafe(_start_sending, layer, latest)


def _start_sending(layer, latest):
    task = asyncio.ensure_future(_send(layer, latest))
    _sending.add(task)
    task.add_done_callback(_sending.discard)


async def _send(layer, latest):
    for team_id, code in latest.items():
        try:
            await layer.group_send(group_name(team_id), {"type": "usage.request", "code": code})
        except Exception:
            # A page that does not update live is not worth failing the request's log for.
            log.warning("could not announce request %s to live usage pages", code, exc_info=True)


class UsageConsumer(AsyncJsonWebsocketConsumer):
    """/ws/usage/?team=<slug>: tells the page that its team logged a request."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        slug = parse_qs(self.scope.get("query_string", b"").decode()).get("team", [""])[0]
        try:
            team = await sync_to_async(get_team_for_user)(user, slug)
        except Http404:
            await self.close(code=4404)
            return
        self.group = group_name(team.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def usage_request(self, event):
        await self.send_json({"type": "request", "code": event["code"]})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
