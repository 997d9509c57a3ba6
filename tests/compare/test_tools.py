"""Tools on Compare: definitions checked before the run, calls streamed as `completion.tool_call`
frames in every dialect, stored on the row and checked against the tool's parameters."""

import json

import httpx
import pytest
from asgiref.sync import sync_to_async

from gateway.client import make_client
from gateway.redact import MASK
from playground.compare import relay
from playground.compare.models import Completion
from playground.compare.run_frame import RunError, parse_run_frame
from playground.compare.schemas import check_tool_calls
from tests.compare.test_consumer import connect, receive_until, run_frame
from tests.conftest import TOKEN

pytestmark = [pytest.mark.django_db(transaction=True)]

WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city"],
    },
}


def tools_frame(branch, models, tools, **params):
    frame = run_frame(branch, models, content="What is the weather in Paris?", **(params or {"max_tokens": 256}))
    frame["tools"] = tools
    return frame


def calls_from(frames):
    """{completion: {index: {"id", "name", "arguments", "frames"}}} put together from the tool-call frames."""
    calls = {}
    for f in frames:
        if f["type"] == "completion.tool_call":
            call = calls.setdefault(f["completion"], {}).setdefault(
                f["index"], {"id": "", "name": "", "arguments": "", "frames": 0}
            )
            call["id"] += f.get("id", "")
            call["name"] += f.get("name", "")
            call["arguments"] += f["arguments"]
            call["frames"] += 1
    return calls


async def test_tool_calls_stream_in_every_dialect_and_are_checked_and_stored(alice, branch):
    comm, _ = await connect(alice)
    # gpt-5-mini on chat completions, codex on Responses, Claude on Anthropic Messages (thinking on).
    models = ["gpt-5-mini", "gpt-5-2-codex", "claude-haiku-4-5"]
    await comm.send_json_to(tools_frame(branch, models, [WEATHER], max_tokens=256, thinking_budget=1024))
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    assert frames[-1]["type"] == "run.done", frames[-1]
    codes = {c["model"]: c["id"] for c in frames[0]["completions"]}
    endpoints = {}
    async for row in Completion.objects.filter(run__code=frames[0]["run"]):
        endpoints[row.model] = row.endpoint
    assert endpoints == {
        "gpt-5-mini": "chat_completions",
        "gpt-5-2-codex": "openai_responses",
        "claude-haiku-4-5": "anthropic_messages",
    }
    calls = calls_from(frames)
    done = {f["completion"]: f for f in frames if f["type"] == "completion.done"}
    for model, code in codes.items():
        (call,) = calls[code].values()
        assert call["name"] == "get_weather", model
        assert call["id"], model
        assert json.loads(call["arguments"]) == {"city": "example", "days": 1}, model
        # Each call's frames come before its panel's end.
        last_call = max(
            i for i, f in enumerate(frames) if f["type"] == "completion.tool_call" and f["completion"] == code
        )
        end = next(i for i, f in enumerate(frames) if f["type"] == "completion.done" and f["completion"] == code)
        assert last_call < end
        final = done[code]["tool_calls"]
        assert final == [
            {
                "index": 0,
                "id": call["id"],
                "name": "get_weather",
                "arguments": call["arguments"],
                "check": {"valid": True, "error": None},
            }
        ]
        assert done[code]["usage"]["completion_tokens"] > 0, model
        assert done[code]["cost"] is not None, model
    rows = {r.model: r async for r in Completion.objects.filter(run__code=frames[0]["run"])}
    for model, row in rows.items():
        assert row.status == Completion.Status.OK
        assert row.tool_calls == [
            {
                "id": calls[codes[model]][0]["id"],
                "name": "get_weather",
                "arguments": calls[codes[model]][0]["arguments"],
            }
        ]
        assert row.ttft_ms is not None and row.cost_source == Completion.CostSource.COMPUTED
    await comm.disconnect()


async def test_arguments_cut_by_max_tokens_are_marked_not_json(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(tools_frame(branch, ["gpt-5-mini"], [WEATHER], max_tokens=3))
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    (done,) = [f for f in frames if f["type"] == "completion.done"]
    assert done["finish_reason"] == "length"
    (call,) = done["tool_calls"]
    assert call["check"]["valid"] is False
    assert call["check"]["error"].startswith("The arguments are not JSON")
    await comm.disconnect()


async def test_a_model_without_tools_answers_without_them_with_a_note(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(tools_frame(branch, ["gpt-5-mini", "meta-llama-3-3-70b-instruct"], [WEATHER]))
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    assert frames[-1]["type"] == "run.done", frames[-1]
    notes = {c["model"]: c["notes"] for c in frames[0]["completions"]}
    codes = {c["model"]: c["id"] for c in frames[0]["completions"]}
    assert any(
        n.startswith("Tools left out for meta-llama-3-3-70b-instruct") for n in notes["meta-llama-3-3-70b-instruct"]
    )
    assert not any("Tools left out" in n for n in notes["gpt-5-mini"])
    calls = calls_from(frames)
    assert codes["meta-llama-3-3-70b-instruct"] not in calls
    assert codes["gpt-5-mini"] in calls
    assert not [f for f in frames if f["type"] == "completion.error"]
    await comm.disconnect()


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        ([{"name": "get weather", "parameters": {"type": "object"}}], "Tool 1 (get weather): the name must be"),
        ([WEATHER, {**WEATHER, "description": "again"}], "Tool 2 (get_weather): another tool has the same name."),
        (
            [{"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "integr"}}}}],
            "Tool 1 (f): the parameters are not a valid JSON schema at $.parameters.properties.x.type:",
        ),
        (
            [{"name": "f", "parameters": {"type": "string"}}],
            'Tool 1 (f): parameters must be a schema of "type": "object".',
        ),
        ({"name": "f"}, "Tools are a JSON array"),
        ([{"name": "f", "paramters": {}}], "Tool 1 (f): unknown field 'paramters'"),
        (  # Python's json reads NaN; no request body can carry it
            [{"name": "f", "parameters": {"type": "object", "properties": {"x": {"maximum": float("nan")}}}}],
            "Tool 1 (f): the parameters have a number JSON cannot carry (NaN or Infinity) at "
            "$.parameters.properties.x.maximum.",
        ),
    ],
)
async def test_an_invalid_tool_is_refused_before_the_run_saying_where(alice, branch, tools, message):
    comm, _ = await connect(alice)
    await comm.send_json_to(tools_frame(branch, ["gpt-5-mini"], tools))
    error = await comm.receive_json_from(timeout=5)
    assert error["type"] == "error"
    assert error["message"].startswith(message), error["message"]
    assert not await Completion.objects.aexists()
    await comm.disconnect()


def test_the_openai_wrapper_is_taken_off_and_the_run_keeps_one_form():
    frame = {"branch": "b", "models": ["gpt-5-mini"], "messages": [{"role": "user", "content": "hi"}]}
    request = parse_run_frame({**frame, "tools": [{"type": "function", "function": WEATHER}]})
    assert request.params["tools"] == [WEATHER]
    with pytest.raises(RunError):
        parse_run_frame({**frame, "tools": [{"type": "function", "function": "x"}]})


def test_calls_are_checked_against_the_tool_they_name():
    calls = [
        {"name": "get_weather", "arguments": '{"city": "Oslo", "days": 0}'},
        {"name": "get_weather", "arguments": '{"days": 2}'},
        {"name": "nope", "arguments": "{}"},
        {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
    ]
    assert check_tool_calls([WEATHER], calls) == [
        {"valid": False, "error": "At $.days: 0 is less than the minimum of 1"},
        {"valid": False, "error": "At $: 'city' is a required property"},
        {"valid": False, "error": "No tool named 'nope' was offered."},
        {"valid": True, "error": None},
    ]


def chunk(**delta):
    return "data: " + json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}) + "\n\n"


def echoing_tool_gateway(request):
    """Calls a tool with the token it was sent in its name, id and arguments, split across pieces."""
    sent = request.headers["authorization"].removeprefix("Bearer ")
    body = (
        chunk(tool_calls=[{"index": 0, "id": f"call_{sent}", "function": {"name": f"get_{sent}", "arguments": ""}}])
        + chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"city": "' + sent[:7]}}])
        + chunk(tool_calls=[{"index": 0, "function": {"arguments": sent[7:] + '"}'}}])
        + "data: "
        + json.dumps(
            {
                "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 9},
            }
        )
        + "\n\ndata: [DONE]\n\n"
    )
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())


@pytest.fixture
def echo_branch(team, alice, catalog, settings, monkeypatch):
    from playground.teams.models import Branch

    settings.GATEWAY_ALLOWED_HOSTS = ["127.0.0.1", "127.0.0.1:9"]
    monkeypatch.setattr(
        relay, "gateway_client", lambda: make_client(transport=httpx.MockTransport(echoing_tool_gateway))
    )
    branch = Branch(team=team, name="Echo", base_url="http://127.0.0.1:9", created_by=alice)
    branch.set_token(TOKEN)
    branch.save()
    return branch


async def test_a_token_echoed_in_a_tool_call_never_reaches_a_frame_or_a_row(alice, echo_branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(tools_frame(echo_branch, ["gpt-5-mini"], [WEATHER]))
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    await comm.disconnect()
    assert frames[-1]["type"] == "run.done", frames[-1]
    assert TOKEN not in json.dumps(frames)
    (call,) = calls_from(frames).values()
    assert call[0]["arguments"] == '{"city": "' + MASK + '"}'
    assert call[0]["name"] == "get_" + MASK
    row = await sync_to_async(Completion.objects.get)()
    assert TOKEN not in json.dumps(row.tool_calls)
    assert row.tool_calls == [{"id": "call_" + MASK, "name": "get_" + MASK, "arguments": '{"city": "' + MASK + '"}'}]


def test_the_relay_scrubs_tool_calls_once_more_before_writing_the_row():
    row = Completion(tool_calls=[{"id": TOKEN, "name": f"x{TOKEN}", "arguments": f'{{"k": "{TOKEN}"}}'}])
    relay.redact_row(row, TOKEN)
    assert TOKEN not in json.dumps(row.tool_calls)


async def test_the_permalink_and_the_exports_show_the_tools_and_each_call(alice, branch):
    from django.test import Client
    from django.urls import reverse

    comm, _ = await connect(alice)
    await comm.send_json_to(tools_frame(branch, ["gpt-5-mini"], [WEATHER]))
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    await comm.disconnect()
    run = frames[0]["run"]

    def read():
        client = Client()
        client.force_login(alice)
        return (
            client.get(reverse("runs:detail", args=[run])).content.decode(),
            client.get(reverse("compare:export", args=[run, "json"])).json(),
            client.get(reverse("compare:export", args=[run, "md"])).content.decode(),
        )

    page, data, markdown = await sync_to_async(read)()
    assert 'id="run-tools"' in page and "The weather in a city" in page
    assert '<code class="tool-call-name">get_weather</code>' in page
    assert "✓ The arguments fit get_weather's parameters." in page
    assert "params={" not in page and "tools=[" not in page
    (completion,) = data["completions"]
    assert completion["tool_calls"][0]["name"] == "get_weather"
    assert completion["tool_calls"][0]["check"] == {"valid": True, "error": None}
    assert data["params"]["tools"] == [WEATHER]
    assert "## Tools" in markdown
    assert "Tool call `get_weather` (fits its parameters):" in markdown
