"""Blind runs on the socket: no frame names a model, or tells one by its notes, cost or error,
until the person votes; the vote's answer gives them."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse

from playground.compare.relay import BLIND_ERROR
from tests.compare.test_consumer import connect, receive_until, run_frame

pytestmark = [pytest.mark.django_db(transaction=True)]

MODELS = ["gpt-5-mini", "claude-haiku-4-5", "gpt-oss-120b"]


async def test_a_blind_run_names_no_model_until_the_vote(alice, branch):
    comm, _ = await connect(alice)
    # gpt-5-mini refuses temperature (a note naming it); gpt-oss fails with a message naming it.
    frame = run_frame(branch, MODELS, content="Hello sim:fault=500@gpt-oss-120b", max_tokens=32, temperature=0.5)
    frame["blind"] = True
    await comm.send_json_to(frame)
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    await comm.disconnect()
    assert frames[-1]["type"] == "run.done", frames[-1]
    started = frames[0]
    assert started["blind"] is True
    assert [sorted(c) for c in started["completions"]] == [["id"], ["id"], ["id"]]
    wire = json.dumps(frames)
    for model in [*MODELS, "gpt-oss", "claude", "gpt-5"]:
        assert model not in wire, model
    done = [f for f in frames if f["type"] == "completion.done"]
    assert len(done) == 2
    for f in done:
        assert not {"notes", "cost", "cost_source", "price_source", "cost_lines"} & set(f)
        assert f["usage"]["completion_tokens"] > 0
    (error,) = [f for f in frames if f["type"] == "completion.error"]
    assert error["message"] == BLIND_ERROR and "code" not in error and error["status"] == 500

    # The vote answers with every model and what the frames left out.
    winner = done[0]["completion"]

    def vote():
        client = Client()
        client.force_login(alice)
        return client.post(reverse("compare:vote", args=[started["run"]]), {"verdict": "best", "winner": winner}).json()

    answer = await sync_to_async(vote)()
    details = answer["completions"]
    assert sorted(d["model"] for d in details.values()) == sorted(MODELS)
    assert details[winner]["cost"] is not None and details[winner]["cost_source"] == "computed"
    mini = next(d for d in details.values() if d["model"] == "gpt-5-mini")
    assert any("temperature" in n and "gpt-5-mini" in n for n in mini["notes"])
    failed = details[error["completion"]]
    assert failed["model"] == "gpt-oss-120b" and failed["message"] and failed["code"]


async def test_a_run_that_is_not_blind_names_its_models(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, MODELS[:2], max_tokens=16))
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    await comm.disconnect()
    assert frames[0]["blind"] is False
    assert {c["model"] for c in frames[0]["completions"]} == set(MODELS[:2])
    assert all("cost" in f for f in frames if f["type"] == "completion.done")


async def test_blind_must_be_true_or_false(alice, branch):
    comm, _ = await connect(alice)
    frame = run_frame(branch, MODELS[:2])
    frame["blind"] = "yes"
    await comm.send_json_to(frame)
    assert (await comm.receive_json_from(timeout=5)) == {"type": "error", "message": "blind is true or false."}
    await comm.disconnect()
