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
