"""/ws/usage/: a team's open Usage pages hear of each request it logs."""

import pytest
from channels.testing import WebsocketCommunicator

from playground.asgi import application
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
