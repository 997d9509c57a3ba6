"""Tools: each dialect's body carries the definitions in its own shape, the simulator streams a
call of the first tool in each dialect's wire shape, and the client turns it into ToolCallDelta
events (ids and names whole, arguments in pieces), scrubbed of the token like the text."""

import json

import httpx
import pytest

from gateway import client as gw
from gateway.redact import MASK
from gateway.simulator import create_app
from gateway.stream import Finish, TextDelta, ToolCallDelta, Usage
from tests.conftest import TOKEN

WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
}
CLOCK = {"name": "now", "parameters": {"type": "object", "properties": {}}}
# One model per dialect (claude goes through Anthropic Messages as with extended thinking on).
DIALECTS = [
    ("chat_completions", "gpt-5-mini"),
    ("openai_responses", "gpt-5-2-codex"),
    ("anthropic_messages", "claude-haiku-4-5"),
]


def test_each_dialect_gets_the_definitions_in_its_own_shape():
    messages = [{"role": "user", "content": "weather?"}]
    params = {"tools": [WEATHER, CLOCK], "max_tokens": 64}
    chat = gw.chat_body("gpt-5-mini", messages, params, include_usage=True)["tools"]
    assert chat == [
        {"type": "function", "function": WEATHER},
        {"type": "function", "function": CLOCK},
    ]
    assert gw.responses_body("gpt-5-2-codex", messages, params)["tools"] == [
        {"type": "function", **WEATHER},
        {"type": "function", **CLOCK},
    ]
    assert gw.anthropic_body("claude-haiku-4-5", messages, params)["tools"] == [
        {"name": "get_weather", "description": "The weather in a city", "input_schema": WEATHER["parameters"]},
        {"name": "now", "input_schema": CLOCK["parameters"]},
    ]


def test_without_tools_no_body_has_a_tools_field():
    messages = [{"role": "user", "content": "hi"}]
    assert "tools" not in gw.chat_body("gpt-5-mini", messages, {}, include_usage=True)
    assert "tools" not in gw.responses_body("gpt-5-2-codex", messages, {})
    assert "tools" not in gw.anthropic_body("claude-haiku-4-5", messages, {})


async def stream(endpoint, model, tools, client=None, content="What is the weather in Paris?", **params):
    own = client is None
    client = client or httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(ttft_ms=0, interval_ms=0, chunks=12))
    )
    try:
        return [
            event
            async for event in gw.stream_completion(
                client,
                endpoint=endpoint,
                base_url="http://sim",
                token=TOKEN,
                model=model,
                messages=[{"role": "user", "content": content}],
                params={"tools": tools, "max_tokens": 256, **params},
            )
        ]
    finally:
        if own:
            await client.aclose()


def calls_of(events):
    """{key: {"id", "name", "arguments"}} put together from the ToolCallDelta events."""
    calls = {}
    for event in events:
        if isinstance(event, ToolCallDelta):
            call = calls.setdefault(event.key, {"id": "", "name": "", "arguments": "", "pieces": 0})
            call["id"] += event.id
            call["name"] += event.name
            call["arguments"] += event.arguments
            call["pieces"] += bool(event.arguments)
    return calls


@pytest.mark.parametrize(("endpoint", "model"), DIALECTS)
async def test_the_simulator_streams_a_call_of_the_first_tool_in_every_dialect(endpoint, model):
    events = await stream(endpoint, model, [WEATHER, CLOCK])
    calls = calls_of(events)
    assert len(calls) == 1
    (call,) = calls.values()
    assert call["name"] == "get_weather"
    assert call["id"].startswith("toolu_" if endpoint == "anthropic_messages" else "call_")
    # Arguments fit the tool's parameters and came in several pieces, the name first.
    assert json.loads(call["arguments"]) == {"city": "example", "unit": "celsius"}
    assert call["pieces"] > 1
    first = next(e for e in events if isinstance(e, ToolCallDelta))
    assert first.name == "get_weather" and first.arguments == ""
    assert not [e for e in events if isinstance(e, TextDelta)]
    finish = [e.reason for e in events if isinstance(e, Finish)]
    assert finish == [
        {"chat_completions": "tool_calls", "openai_responses": "stop", "anthropic_messages": "tool_use"}[endpoint]
    ]
    # Usage as for text: one output token a piece.
    usage = [e.raw for e in events if isinstance(e, Usage)][-1]
    output = usage.get("completion_tokens", usage.get("output_tokens"))
    assert output == call["pieces"]


@pytest.mark.parametrize(("endpoint", "model"), DIALECTS)
async def test_a_max_tokens_below_the_arguments_cuts_them(endpoint, model):
    # A piece a character (sim:chunks), so the 16 tokens Responses takes at least cut the arguments too.
    events = await stream(endpoint, model, [WEATHER], content="Weather? sim:chunks=200", max_tokens=16)
    (call,) = calls_of(events).values()
    with pytest.raises(ValueError):
        json.loads(call["arguments"])
    assert [e.reason for e in events if isinstance(e, Finish)] == ["length"]


@pytest.mark.parametrize(
    ("endpoint", "model", "tool"),
    [
        # Each dialect refuses another's shape: the conversion is the client's job.
        ("chat_completions", "gpt-5-mini", {"type": "function", **WEATHER}),
        ("openai_responses", "gpt-5-2-codex", {"type": "function", "function": WEATHER}),
        ("anthropic_messages", "claude-haiku-4-5", WEATHER),
    ],
)
async def test_the_simulator_refuses_tools_in_another_dialects_shape(endpoint, model, tool):
    app = create_app(ttft_ms=0, interval_ms=0, chunks=12)
    path = {"chat_completions": "/v1/chat/completions", "openai_responses": "/v1/responses"}.get(
        endpoint, "/ai-gateway/anthropic/v1/messages"
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        body = {"model": model, "stream": True, "max_tokens": 64, "tools": [tool]}
        body["input" if endpoint == "openai_responses" else "messages"] = [{"role": "user", "content": "hi"}]
        response = await client.post("http://sim" + path, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400
    assert "tools[0] on this endpoint is" in response.text


async def test_a_model_without_tools_refuses_them():
    with pytest.raises(gw.GatewayError) as info:
        await stream("chat_completions", "meta-llama-3-3-70b-instruct", [WEATHER])
    assert info.value.status == 400
    assert "does not support tools" in info.value.message


def sse(*payloads):
    return "".join(f"data: {json.dumps(p)}\n\n" for p in payloads) + "data: [DONE]\n\n"


def chat_chunk(**delta):
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


async def test_a_token_echoed_in_a_tool_call_is_scrubbed_even_split_across_pieces():
    half = len(TOKEN) // 2

    def handler(request):
        body = sse(
            chat_chunk(
                tool_calls=[{"index": 0, "id": f"call_{TOKEN}", "function": {"name": f"f{TOKEN}", "arguments": ""}}]
            ),
            chat_chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"key": "' + TOKEN[:half]}}]),
            chat_chunk(tool_calls=[{"index": 0, "function": {"arguments": TOKEN[half:] + '"}'}}]),
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        )
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    events = await stream("chat_completions", "gpt-5-mini", [WEATHER], client=client)
    await client.aclose()
    (call,) = calls_of(events).values()
    assert TOKEN not in repr(events)
    assert call["arguments"] == '{"key": "' + MASK + '"}'
    assert call["name"] == "f" + MASK and call["id"] == "call_" + MASK
