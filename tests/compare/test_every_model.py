"""Every catalog model runs from Compare against the simulator, through its own endpoint."""

import json
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from playground.compare.models import Completion
from tests.compare.test_consumer import connect, receive_until, run_frame

pytestmark = [pytest.mark.django_db(transaction=True)]

CATALOG = json.loads((Path(__file__).resolve().parents[2] / "gateway" / "catalog.json").read_text())
CHAT_MODELS = sorted(
    m["id"] for m in CATALOG["models"] if m.get("kind", "chat") == "chat" and m.get("released", True) is not False
)
BATCHES = [CHAT_MODELS[i : i + 8] for i in range(0, len(CHAT_MODELS), 8)]


def expected_endpoint(entry):
    if "chat_completions" not in entry["endpoints"] and "openai_responses" in entry["endpoints"]:
        return "openai_responses"
    return "chat_completions"


@pytest.mark.parametrize("models", BATCHES, ids=[f"{b[0]}..{b[-1]}" for b in BATCHES])
async def test_every_catalog_model_answers_through_its_endpoint(alice, branch, models):
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, models, "One sentence about Postgres.", max_tokens=64))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done", wait=20)
    await comm.disconnect()
    errors = [f for f in frames if f["type"] == "completion.error"]
    assert errors == []
    done = [f for f in frames if f["type"] == "completion.done"]
    assert len(done) == len(models)
    assert {d["status"] for d in done} == {"ok"}
    by_id = {m["id"]: m for m in CATALOG["models"]}
    rows = await sync_to_async(list)(Completion.objects.all())
    for row in rows:
        assert row.endpoint == expected_endpoint(by_id[row.model]), row.model
        assert row.output_text
        # A priced model's cost is computed or (Gemini, no usage in stream) estimated.
        if by_id[row.model]["price"]["input"] is not None:
            assert row.cost is not None and row.cost > 0, row.model


async def test_claude_with_extended_thinking_goes_through_anthropic_messages(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(
        run_frame(branch, ["claude-sonnet-4-6"], "Think, then answer.", max_tokens=256, thinking_budget=1024)
    )
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    started = frames[0]
    assert any("Anthropic Messages" in n for n in started["completions"][0]["notes"])
    assert any(f["type"] == "delta" and f.get("reasoning") for f in frames)
    done = next(f for f in frames if f["type"] == "completion.done")
    assert done["status"] == "ok"
    row = await Completion.objects.aget()
    assert row.endpoint == "anthropic_messages"
    assert row.reasoning_text
    assert row.usage_raw and "input_tokens" in row.usage_raw
    assert row.cost_source == "computed"


async def test_a_codex_model_goes_through_the_responses_endpoint(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-3-codex"], "Write a haiku.", max_tokens=64))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    assert any("Responses" in n for n in frames[0]["completions"][0]["notes"])
    done = next(f for f in frames if f["type"] == "completion.done")
    assert done["status"] == "ok"
    assert done["usage"]["prompt_tokens"] > 0
    row = await Completion.objects.aget()
    assert row.endpoint == "openai_responses"
    assert "input_tokens" in row.usage_raw


async def test_gemini_gets_a_note_that_stream_options_is_left_out(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gemini-2-5-flash"], "hi"))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    assert any("stream_options" in n for n in frames[0]["completions"][0]["notes"])
    done = next(f for f in frames if f["type"] == "completion.done")
    assert done["status"] == "ok"


async def test_whether_a_run_asks_for_usage_is_the_models_row_not_a_second_lookup(alice, branch, monkeypatch):
    """The catalog row decides stream_options, for the request and for its code snippet alike:
    a row edited to refuse it (as Gemini's does) is obeyed, though catalog.json says otherwise."""
    from gateway.models import GatewayModel
    from playground.compare import relay
    from playground.compare.runs import forget_catalog
    from playground.compare.snippets import plan_calls

    await GatewayModel.objects.filter(id="gpt-5-mini").aupdate(stream_options=False)
    forget_catalog()
    asked = []
    real = relay.stream_completion

    def recording(client, **kwargs):
        asked.append((kwargs["model"], kwargs["include_usage"]))
        return real(client, **kwargs)

    monkeypatch.setattr(relay, "stream_completion", recording)
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "gpt-5-nano"], max_tokens=32))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    assert sorted(asked) == [("gpt-5-mini", False), ("gpt-5-nano", True)]
    started = frames[0]["completions"]
    assert any("stream_options left out" in note for c in started if c["model"] == "gpt-5-mini" for note in c["notes"])
    bodies = {call.model: call.body for call in await sync_to_async(plan_calls)(["gpt-5-mini", "gpt-5-nano"], [], {})}
    assert "stream_options" not in bodies["gpt-5-mini"]
    assert bodies["gpt-5-nano"]["stream_options"] == {"include_usage": True}
