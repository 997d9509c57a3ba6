"""Conversations on the Compare socket: follow-ups with each panel's thread, retry, add a model."""

import json

import pytest
from asgiref.sync import sync_to_async

from playground.compare.models import Completion, Run
from tests.compare.test_consumer import connect, receive_until, run_frame

pytestmark = [pytest.mark.django_db(transaction=True)]

HISTORY = [
    {"role": "user", "content": "What is a Neon branch? " * 20},
    {"role": "assistant", "content": "A copy-on-write clone of a database. " * 20},
]


async def finished_run(comm, branch, models):
    await comm.send_json_to(run_frame(branch, models))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    return frames[0]["run"], {c["model"]: c["id"] for c in frames[0]["completions"]}


async def test_a_follow_up_sends_each_model_its_own_thread(alice, branch):
    comm, _ = await connect(alice)
    frame = run_frame(branch, ["gpt-5-mini", "gpt-5-nano"], content="And its cost?")
    frame["threads"] = {"gpt-5-mini": HISTORY}
    await comm.send_json_to(frame)
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    assert all(f["type"] != "error" for f in frames)
    run = await Run.objects.aget(code=frames[0]["run"])
    assert run.threads == {"gpt-5-mini": HISTORY}
    rows = {c.model: c async for c in Completion.objects.filter(run=run)}
    # The simulator counts the prompt it was sent: the thread went to gpt-5-mini only.
    assert rows["gpt-5-mini"].prompt_tokens > rows["gpt-5-nano"].prompt_tokens + 100
    await comm.disconnect()


async def test_a_thread_that_is_not_a_list_of_turns_is_refused(alice, branch):
    comm, _ = await connect(alice)
    frame = run_frame(branch, ["gpt-5-mini"])
    frame["threads"] = {"gpt-5-mini": [{"role": "system", "content": "x"}]}
    await comm.send_json_to(frame)
    error = await comm.receive_json_from(timeout=5)
    assert error == {
        "type": "error",
        "message": "A message in the thread of gpt-5-mini is a user or assistant message.",
    }
    await comm.disconnect()


def test_request_messages_put_the_thread_between_the_system_prompt_and_the_new_message():
    run = Run(
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "And now?"}],
        threads={"m": HISTORY},
    )
    assert Completion(run=run, model="m").request_messages() == [
        {"role": "system", "content": "Be brief."},
        *HISTORY,
        {"role": "user", "content": "And now?"},
    ]
    assert Completion(run=run, model="other").request_messages() == run.messages


async def test_retry_streams_one_panel_again_on_the_same_run(alice, branch):
    comm, _ = await connect(alice)
    run_code, codes = await finished_run(comm, branch, ["gpt-5-mini", "gpt-5-nano"])
    await comm.send_json_to({"type": "retry", "run": run_code, "model": "gpt-5-nano", "replaces": codes["gpt-5-nano"]})
    frames = await receive_until(comm, lambda f: f["type"] in ("completion.done", "error"))
    started = frames[0]
    assert started["type"] == "completion.started"
    assert (started["run"], started["model"], started["replaces"]) == (run_code, "gpt-5-nano", codes["gpt-5-nano"])
    assert frames[-1]["type"] == "completion.done" and frames[-1]["completion"] == started["completion"]
    assert any(f["type"] == "delta" and f["completion"] == started["completion"] for f in frames)
    models = sorted([c.model async for c in Completion.objects.filter(run__code=run_code)])
    assert models == ["gpt-5-mini", "gpt-5-nano", "gpt-5-nano"]
    await comm.disconnect()


async def test_a_model_added_to_a_finished_run_gets_the_same_messages(alice, branch):
    comm, _ = await connect(alice)
    run_code, _ = await finished_run(comm, branch, ["gpt-5-mini"])
    await comm.send_json_to({"type": "add", "run": run_code, "models": ["claude-haiku-4-5", "gpt-5-nano"]})
    done = []

    def second_done(frame):
        done.extend([frame] if frame["type"] == "completion.done" else [])
        return frame["type"] == "error" or len(done) == 2

    frames = await receive_until(comm, second_done)
    started = [f for f in frames if f["type"] == "completion.started"]
    assert sorted(f["model"] for f in started) == ["claude-haiku-4-5", "gpt-5-nano"]
    assert {f["completion"] for f in done} == {f["completion"] for f in started}
    rows = {c.model: c async for c in Completion.objects.filter(run__code=run_code)}
    assert set(rows) == {"gpt-5-mini", "claude-haiku-4-5", "gpt-5-nano"}
    # The same one-message prompt as the first model's (the simulator counts what it was sent).
    assert rows["gpt-5-nano"].prompt_tokens == rows["gpt-5-mini"].prompt_tokens


async def test_an_outsider_cannot_retry_or_extend_alices_run(alice, charlie, branch):
    comm, _ = await connect(alice)
    run_code, _ = await finished_run(comm, branch, ["gpt-5-mini"])
    await comm.disconnect()
    comm, _ = await connect(charlie)
    await comm.send_json_to({"type": "add", "run": run_code, "models": ["gpt-5-nano"]})
    assert await comm.receive_json_from(timeout=5) == {"type": "error", "message": "No such run."}
    await comm.send_json_to({"type": "retry", "run": run_code, "model": "gpt-5-mini"})
    assert await comm.receive_json_from(timeout=5) == {"type": "error", "message": "No such run."}
    assert await sync_to_async(Completion.objects.filter(run__code=run_code).count)() == 1
    await comm.disconnect()


async def test_retry_needs_a_run_and_a_model(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to({"type": "retry", "model": "gpt-5-mini"})
    assert await comm.receive_json_from(timeout=5) == {"type": "error", "message": "retry needs a run."}
    await comm.send_json_to({"type": "retry", "run": "x"})
    assert await comm.receive_json_from(timeout=5) == {"type": "error", "message": "Choose at least one model."}
    await comm.disconnect()


async def test_a_follow_up_sends_the_earlier_turns_images_to_the_models_that_take_images(alice, branch, team):
    from gateway.simulator.text import IMAGE_TOKENS
    from tests.compare.test_images import image_frame

    comm, _ = await connect(alice)
    models = ["gpt-5-mini", "gpt-5-2-codex", "meta-llama-3-3-70b-instruct"]
    await comm.send_json_to(image_frame(branch, models, max_tokens=64))
    first = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    assert first[-1]["type"] == "run.done", first[-1]
    first_run = first[0]["run"]
    image = (await Run.objects.aget(code=first_run)).messages[0]["content"][1]["image_url"]["url"]

    # The thread refers to the first run's image (the page does not send it again, once per model).
    turn = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": f"run:{first_run}/0"}},
    ]
    frame = run_frame(branch, models, content="And its colour?")
    frame["threads"] = {
        m: [{"role": "user", "content": turn}, {"role": "assistant", "content": "A dot."}] for m in models
    }
    await comm.send_json_to(frame)
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    assert frames[-1]["type"] == "run.done", frames[-1]
    notes = {c["model"]: c["notes"] for c in frames[0]["completions"]}
    assert any("Images left out for meta-llama-3-3-70b-instruct" in n for n in notes["meta-llama-3-3-70b-instruct"])
    assert not any("Images left out" in n for n in notes["gpt-5-mini"])
    run = await Run.objects.aget(code=frames[0]["run"])
    # Stored by reference (the image is kept once, in its run); a retry reads it back from there.
    assert run.threads["gpt-5-mini"][0]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": f"run:{first_run}/0"},
    }
    assert image not in json.dumps(run.threads)
    rows = {c.model: c async for c in Completion.objects.filter(run=run)}
    text_only = rows["meta-llama-3-3-70b-instruct"].prompt_tokens
    assert rows["gpt-5-mini"].prompt_tokens == text_only + IMAGE_TOKENS
    assert rows["gpt-5-2-codex"].prompt_tokens == text_only + IMAGE_TOKENS

    # A retry of the follow-up still sends the earlier image.
    await comm.send_json_to({"type": "retry", "run": str(run.code), "model": "gpt-5-mini"})
    retried = await receive_until(comm, lambda f: f["type"] in ("completion.done", "completion.error", "error"))
    assert retried[-1]["type"] == "completion.done", retried[-1]
    again = await Completion.objects.aget(code=retried[-1]["completion"])
    assert again.prompt_tokens == rows["gpt-5-mini"].prompt_tokens
    await comm.disconnect()


@pytest.mark.parametrize("ref", ["run:{run}/1", "run:00000000-0000-0000-0000-000000000000/0", "run:{run}/x"])
async def test_an_image_reference_to_no_image_of_the_teams_runs_is_refused(alice, branch, ref):
    comm, _ = await connect(alice)
    run, _codes = await finished_run(comm, branch, ["gpt-5-mini"])
    turn = [{"type": "text", "text": "Look"}, {"type": "image_url", "image_url": {"url": ref.format(run=run)}}]
    frame = run_frame(branch, ["gpt-5-mini"], content="And?")
    frame["threads"] = {"gpt-5-mini": [{"role": "user", "content": turn}, {"role": "assistant", "content": "Ok."}]}
    await comm.send_json_to(frame)
    error = await comm.receive_json_from(timeout=5)
    assert error["type"] == "error"
    if ref.endswith("x"):
        assert error["message"].startswith("The thread of gpt-5-mini: An image is a data: URL")
    else:
        assert (
            error["message"]
            == "An image of an earlier turn is not in this team's runs any more; start a new conversation."
        )
    await comm.disconnect()


def test_a_text_only_model_gets_the_text_of_the_earlier_turns_too():
    turn = [{"type": "text", "text": "Look"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    run = Run(messages=[{"role": "user", "content": "And?"}], threads={"m": [{"role": "user", "content": turn}]})
    completion = Completion(run=run, model="m")
    completion.text_only = True
    assert completion.request_messages() == [{"role": "user", "content": "Look"}, {"role": "user", "content": "And?"}]
