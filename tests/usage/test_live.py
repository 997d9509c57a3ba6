"""/ws/usage/: a team's open Usage pages hear of each request it logs."""

import asyncio
from types import SimpleNamespace

import pytest
from channels.testing import WebsocketCommunicator
from django.db import transaction

from playground.asgi import application
from playground.compare import writes
from playground.usage import live
from tests.compare.test_consumer import ORIGIN, connect, receive_until, run_frame, session_cookie_for

pytestmark = [pytest.mark.django_db(transaction=True)]


async def usage_socket(user, slug):
    headers = [ORIGIN]
    if user is not None:
        headers.append((b"cookie", f"sessionid={await session_cookie_for(user)}".encode()))
    comm = WebsocketCommunicator(application, f"/ws/usage/?team={slug}", headers=headers)
    connected, code = await comm.connect(timeout=5)
    return comm, connected, code


async def test_a_finished_request_is_announced_to_the_teams_usage_pages(alice, bob, team, branch):
    page, connected, _ = await usage_socket(bob, team.slug)
    assert connected
    runner, _ = await connect(alice)
    await runner.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    frames = await receive_until(runner, lambda f: f["type"] == "run.done")
    code = frames[0]["completions"][0]["id"]
    assert await page.receive_json_from(timeout=10) == {"type": "request", "code": code}
    await runner.disconnect()
    await page.disconnect()


async def test_an_outsider_and_an_anonymous_visitor_are_refused(charlie, team):
    _, connected, code = await usage_socket(charlie, team.slug)
    assert not connected and code == 4404
    _, connected, code = await usage_socket(None, team.slug)
    assert not connected and code == 4401


async def test_another_teams_requests_are_not_announced(alice, charlie, branch):
    from asgiref.sync import sync_to_async

    from playground.teams.models import Team

    theirs = await sync_to_async(Team.objects.get)(memberships__user=charlie, personal=True)
    page, connected, _ = await usage_socket(charlie, theirs.slug)
    assert connected
    runner, _ = await connect(alice)
    await runner.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    await receive_until(runner, lambda f: f["type"] == "run.done")
    assert await page.receive_nothing(timeout=0.5)
    await runner.disconnect()
    await page.disconnect()


class HeldLayer:
    """A channel layer whose group sends wait until the test lets them through."""

    def __init__(self):
        self.release = asyncio.Event()
        self.sent = []

    async def group_send(self, group, message):
        await self.release.wait()
        self.sent.append((group, message))


def announce_in_a_transaction(completions):
    with transaction.atomic():
        live.on_completions_finished(sender=None, completions=completions)


async def test_the_database_thread_hands_the_announcement_to_the_loop_and_does_not_wait(monkeypatch):
    layer = HeldLayer()
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)
    finished = [SimpleNamespace(team_id=7, code="a1"), SimpleNamespace(team_id=7, code="a2")]
    try:
        # Were the write to wait for the group send, it would wait for `release`, which is only
        # set once the write has returned.
        assert await asyncio.wait_for(writes.write(announce_in_a_transaction, finished, what="test"), 10) is True
        assert layer.sent == []
    finally:
        layer.release.set()
    for _ in range(200):
        if layer.sent:
            break
        await asyncio.sleep(0.01)
    assert layer.sent == [("usage.team.7", {"type": "usage.request", "code": "a2"})]  # the team's latest


def test_without_a_loop_awaiting_the_write_the_announcement_is_made_there(monkeypatch):
    layer = HeldLayer()
    layer.release.set()
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)
    announce_in_a_transaction([SimpleNamespace(team_id=3, code="b1")])  # a sweep, a command
    assert layer.sent == [("usage.team.3", {"type": "usage.request", "code": "b1"})]


async def test_an_announcement_that_fails_is_logged_and_the_write_stands(monkeypatch, caplog):
    class Broken:
        async def group_send(self, group, message):
            raise ConnectionError("redis is away")

    monkeypatch.setattr(live, "get_channel_layer", lambda: Broken())
    assert await writes.write(announce_in_a_transaction, [SimpleNamespace(team_id=5, code="c1")], what="test")
    for _ in range(200):
        if "could not announce request c1" in caplog.text:
            break
        await asyncio.sleep(0.01)
    assert "could not announce request c1 to live usage pages" in caplog.text


def test_without_a_loop_an_announcement_that_fails_is_logged(monkeypatch, caplog):
    class Broken:
        async def group_send(self, group, message):
            raise ConnectionError("redis is away")

    monkeypatch.setattr(live, "get_channel_layer", lambda: Broken())
    announce_in_a_transaction([SimpleNamespace(team_id=5, code="d1")])  # the write stands: no raise
    assert "could not announce request d1 to live usage pages" in caplog.text
