"""Per-model parameters ("same for all" off) and stop sequences on the Compare socket."""

import pytest

from gateway.client import anthropic_body
from playground.compare.models import Run
from tests.compare.test_consumer import connect, receive_until, run_frame

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_each_model_gets_its_own_parameters_over_the_shared_ones(alice, branch):
    comm, _ = await connect(alice)
    frame = run_frame(branch, ["gpt-5-mini", "claude-haiku-4-5", "gpt-oss-120b"], max_tokens=64)
    frame["model_params"] = {
        "claude-haiku-4-5": {"temperature": 0.2, "seed": 7},
        "gpt-oss-120b": {"max_tokens": 8, "stop": ["\n\n"]},
    }
    await comm.send_json_to(frame)
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    assert frames[-1]["type"] == "run.done", frames[-1]
    notes = {c["model"]: c["notes"] for c in frames[0]["completions"]}
    # Claude refuses a seed (catalog): left out for it alone, with the reason.
    assert any(n.startswith("seed left out: claude-haiku-4-5 refuses") for n in notes["claude-haiku-4-5"])
    assert not any("seed" in n for n in notes["gpt-5-mini"])
    run = await Run.objects.aget(code=frames[0]["run"])
    assert run.model_params == frame["model_params"]
    assert not [f for f in frames if f["type"] == "completion.error"]
    dones = {f["completion"]: f for f in frames if f["type"] == "completion.done"}
    oss = next(c["id"] for c in frames[0]["completions"] if c["model"] == "gpt-oss-120b")
    assert dones[oss]["finish_reason"] == "length"  # its own max_tokens of 8
    await comm.disconnect()


async def test_a_bad_per_model_parameter_names_the_model(alice, branch):
    comm, _ = await connect(alice)
    frame = run_frame(branch, ["gpt-5-mini"])
    frame["model_params"] = {"gpt-5-mini": {"top_p": 3}}
    await comm.send_json_to(frame)
    assert await comm.receive_json_from(timeout=5) == {
        "type": "error",
        "message": "gpt-5-mini: top_p must be between 0.0 and 1.0.",
    }
    frame["model_params"] = {}
    frame["params"] = {"stop": ["a", "b", "c", "d", "e"]}
    await comm.send_json_to(frame)
    assert await comm.receive_json_from(timeout=5) == {"type": "error", "message": "stop takes at most 4 sequences."}
    await comm.disconnect()


def test_anthropic_messages_call_stop_sequences_by_their_name():
    body = anthropic_body("claude-haiku-4-5", [{"role": "user", "content": "hi"}], {"stop": ["END"]})
    assert body["stop_sequences"] == ["END"]
    assert "stop" not in body


@pytest.mark.django_db(transaction=True)
async def test_a_model_the_branch_lists_but_the_catalog_lacks_can_be_picked_and_run(alice, branch, client):
    from asgiref.sync import sync_to_async
    from django.urls import reverse

    from gateway.models import GatewayModel
    from playground.compare.runs import forget_catalog

    # kimi-k3 is served by the simulator; without its catalog row it is unknown here.
    await GatewayModel.objects.filter(id="kimi-k3").adelete()
    forget_catalog()
    branch.model_ids = ["gpt-5-mini", "databricks-kimi-k3"]
    await branch.asave(update_fields=["model_ids"])
    await sync_to_async(client.force_login)(alice)
    page = await sync_to_async(client.get)(reverse("compare:index"))
    assert page.context["uncatalogued"] == ["kimi-k3"]
    assert b"not in catalog, price unknown" in page.content

    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["kimi-k3"]))
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    done = [f for f in frames if f["type"] == "completion.done"]
    assert done and done[0]["cost"] is None and done[0]["cost_source"] == "unpriced"
    await comm.disconnect()
