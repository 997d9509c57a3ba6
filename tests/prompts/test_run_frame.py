"""The websocket `run` frame's optional prompt_version and rerun_of links."""

import pytest
from asgiref.sync import sync_to_async

from playground.compare.models import Run
from playground.prompts import library
from playground.prompts.models import Prompt
from tests.compare.test_consumer import connect, receive_until, run_frame

pytestmark = [pytest.mark.django_db(transaction=True)]


def make_version(team, author, visibility="team"):
    prompt = Prompt.objects.create(team=team, name="P", author=author, visibility=visibility)
    return library.add_version(
        prompt, author=author, system="", messages=[{"role": "user", "content": "hi"}], params={}, model_ids=[]
    )


async def run_with(user, frame):
    comm, connected = await connect(user)
    assert connected
    await comm.send_json_to(frame)
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    await comm.disconnect()
    return frames[-1]


async def test_a_run_from_a_version_is_attached_to_it(alice, bob, branch, team):
    version = await sync_to_async(make_version)(team, alice)
    last = await run_with(bob, {**run_frame(branch, ["gpt-5-mini"]), "prompt_version": str(version.code)})
    assert last["type"] == "run.done"
    run = await Run.objects.aget(code=last["run"])
    assert run.prompt_version == version.code


async def test_a_run_again_links_to_the_first(alice, branch, team):
    first = await run_with(alice, run_frame(branch, ["gpt-5-mini"]))
    second = await run_with(alice, {**run_frame(branch, ["gpt-5-mini"]), "rerun_of": first["run"]})
    run = await Run.objects.select_related("rerun_of").aget(code=second["run"])
    assert str(run.rerun_of.code) == first["run"]


@pytest.mark.parametrize("field", ["prompt_version", "rerun_of"])
async def test_a_code_from_elsewhere_is_refused_and_nothing_is_written(alice, bob, charlie, branch, team, field):
    from playground.teams.models import Team

    charlies = await Team.objects.aget(slug="charlie")
    if field == "prompt_version":
        code = str((await sync_to_async(make_version)(charlies, charlie)).code)
    else:
        code = str((await Run.objects.acreate(team=charlies, user=charlie)).code)
    last = await run_with(alice, {**run_frame(branch, ["gpt-5-mini"]), field: code})
    assert last["type"] == "error"
    assert not await Run.objects.filter(team=team).aexists()


async def test_someone_elses_private_version_is_refused(alice, bob, branch, team):
    version = await sync_to_async(make_version)(team, alice, "private")
    last = await run_with(bob, {**run_frame(branch, ["gpt-5-mini"]), "prompt_version": str(version.code)})
    assert last["type"] == "error" and "not one of this team's prompts" in last["message"]


async def test_a_code_that_is_not_a_code_is_refused(alice, branch):
    last = await run_with(alice, {**run_frame(branch, ["gpt-5-mini"]), "prompt_version": "v2"})
    assert last == {"type": "error", "message": "prompt_version must be a code."}
