"""The OpenAI Responses and Anthropic Messages dialects: gateway.client against exact byte streams
(httpx.MockTransport), then against the simulator on loopback (the `simulator` fixture: 12 chunks, 5 ms to first
token, 2 ms apart)."""

import json

import httpx
import pytest

from gateway import client as gw
from gateway import pricing
from gateway import simulator as sim
from gateway.stream import AnthropicEvents, Finish, ReasoningDelta, TextDelta, ToolCallDelta, Usage, responses_events
from tests.conftest import TOKEN

BASE = "https://br-winter-pond-aptw82ef-api.ai.c-2.us-east-2.aws.neon.tech"
SSE = {"content-type": "text/event-stream; charset=utf-8"}
CHUNKS = 12  # SIMULATOR_CHUNKS in tests/conftest.py


def sse(name, payload, *, named=True):
    data = "data: " + json.dumps(payload) + "\n\n"
    return f"event: {name}\n{data}" if named else data


def responses_event(kind, named=True, **fields):
    return sse(kind, {"type": kind, **fields}, named=named)


def anthropic_event(kind, named=True, **fields):
    return sse(kind, {"type": kind, **fields}, named=named)


def handler_for(body, *, status=200, headers=SSE, seen=None):
    def handler(request):
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, headers=headers, content=body.encode())

    return handler


async def run(handler, *, endpoint, model, messages=None, params=None, thinking_budget=None, base_url=BASE):
    async with gw.make_client(transport=httpx.MockTransport(handler)) as client:
        return [
            event
            async for event in gw.stream_completion(
                client,
                endpoint=endpoint,
                base_url=base_url,
                token=TOKEN,
                model=model,
                messages=messages or [{"role": "user", "content": "hi"}],
                params=params or {},
                thinking_budget=thinking_budget,
            )
        ]


async def run_error(handler, **kwargs):
    with pytest.raises(gw.GatewayError) as info:
        await run(handler, **kwargs)
    return info.value


def kinds(events):
    return [e for e in events if not isinstance(e, gw.ResponseInfo)]


def text_of(events):
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def reasoning_of(events):
    return "".join(e.text for e in events if isinstance(e, ReasoningDelta))


# --- OpenAI Responses over exact bytes -------------------------------------------------------------------------

RESPONSES_USAGE = {
    "input_tokens": 40,
    "input_tokens_details": {"cached_tokens": 32},
    "output_tokens": 25,
    "output_tokens_details": {"reasoning_tokens": 20},
    "total_tokens": 65,
}


def responses_stream(named=True, final="response.completed", **final_fields):
    response = {"id": "resp_1", "status": "completed", "usage": RESPONSES_USAGE, **final_fields}
    return (
        responses_event("response.created", named, response={"id": "resp_1", "status": "in_progress"})
        + responses_event("response.output_item.added", named, output_index=0, item={"type": "reasoning"})
        + responses_event("response.reasoning_summary_text.delta", named, delta="Think ")
        + responses_event("response.reasoning_summary_text.delta", named, delta="first.")
        + responses_event("response.reasoning_text.delta", named, delta=" Raw.")
        + responses_event("response.output_text.delta", named, delta="Hel")
        + responses_event("response.output_text.delta", named, delta="lo")
        + responses_event("response.output_text.done", named, text="Hello")
        + responses_event(final, named, response=response)
    )


@pytest.mark.parametrize("named", [True, False])
async def test_a_responses_stream_yields_reasoning_then_text_then_usage_and_stop(named):
    seen = []
    events = await run(handler_for(responses_stream(named), seen=seen), endpoint="openai_responses", model="gpt-5")

    assert isinstance(events[0], gw.ResponseInfo)
    assert kinds(events) == [
        ReasoningDelta("Think "),
        ReasoningDelta("first."),
        ReasoningDelta(" Raw."),
        TextDelta("Hel"),
        TextDelta("lo"),
        Usage(RESPONSES_USAGE),
        Finish("stop"),
    ]
    assert str(seen[0].url) == BASE + "/ai-gateway/openai/v1/responses"
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"


async def test_the_responses_body_moves_system_to_instructions_and_never_stores():
    seen = []
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "hello"}]},
        {"role": "system", "content": "Use lists."},
        {"role": "user", "content": [{"type": "text", "text": "more"}]},
    ]
    params = {"max_tokens": 5, "temperature": 0.3, "top_p": 0.9, "reasoning_effort": "low", "seed": 7}
    await run(
        handler_for(responses_stream(), seen=seen),
        endpoint="openai_responses",
        model="gpt-5-3-codex",
        messages=messages,
        params=params,
    )

    assert json.loads(seen[0].content) == {
        "model": "gpt-5-3-codex",
        "instructions": "Be brief.\n\nUse lists.",
        "input": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "output_text", "text": "hello"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "more"}]},
        ],
        "stream": True,
        "store": False,
        "max_output_tokens": 16,
        "temperature": 0.3,
        "top_p": 0.9,
        "reasoning": {"effort": "low", "summary": "auto"},
    }


async def test_a_responses_body_without_limits_sends_no_limit_and_no_reasoning():
    seen = []
    await run(handler_for(responses_stream(), seen=seen), endpoint="openai_responses", model="gpt-5", params={})

    sent = json.loads(seen[0].content)
    assert "max_output_tokens" not in sent and "reasoning" not in sent and "instructions" not in sent
    assert sent["input"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("kind", "response", "finish"),
    [
        ("response.completed", {"status": "completed"}, "stop"),
        ("response.incomplete", {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}, "length"),
        ("response.incomplete", {"status": "incomplete"}, "length"),
        ("response.incomplete", {"status": "incomplete", "incomplete_details": {"reason": "content_filter"}}, "content_filter"),
        ("response.completed", {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}, "length"),
    ],
)  # fmt: skip
def test_the_final_responses_event_gives_the_finish_reason(kind, response, finish):
    events = list(responses_events(kind, {"type": kind, "response": {**response, "usage": {"input_tokens": 1}}}))

    assert events == [Usage({"input_tokens": 1}), Finish(finish)]


def test_a_final_responses_event_without_usage_gives_only_the_finish():
    assert list(responses_events("message", {"type": "response.completed", "response": {"usage": None}})) == [
        Finish("stop")
    ]


async def test_an_incomplete_response_ends_the_stream_with_length():
    body = responses_stream(
        final="response.incomplete", status="incomplete", incomplete_details={"reason": "max_output_tokens"}
    )
    events = await run(handler_for(body), endpoint="openai_responses", model="gpt-5")

    assert kinds(events)[-2:] == [Usage(RESPONSES_USAGE), Finish("length")]


@pytest.mark.parametrize("named", [True, False])
async def test_a_failed_response_raises_its_code_and_message(named):
    failed = {"id": "resp_1", "status": "failed", "error": {"code": "server_error", "message": "The model broke."}}
    body = responses_event("response.output_text.delta", named, delta="Hi") + responses_event(
        "response.failed", named, response=failed
    )
    exc = await run_error(handler_for(body), endpoint="openai_responses", model="gpt-5")

    assert (exc.status, exc.code, exc.message) == (200, "server_error", "The model broke.")


@pytest.mark.parametrize("named", [True, False])
async def test_a_responses_error_event_raises_its_code_and_message(named):
    body = responses_event("response.output_text.delta", named, delta="Hi") + responses_event(
        "error", named, code="rate_limit_exceeded", message="Slow down.", param=None
    )
    exc = await run_error(handler_for(body), endpoint="openai_responses", model="gpt-5")

    assert (exc.code, exc.message) == ("rate_limit_exceeded", "Slow down.")


async def test_a_responses_stream_ending_before_its_final_event_is_a_stream_cut():
    body = responses_event("response.created", response={}) + responses_event("response.output_text.delta", delta="Hi")
    exc = await run_error(handler_for(body), endpoint="openai_responses", model="gpt-5")

    assert exc.code == "stream_cut"


async def test_the_client_stops_reading_at_response_completed():
    # Anything after the final event (here invalid JSON) is never read.
    body = responses_stream() + "data: {broken\n\n"
    events = await run(handler_for(body), endpoint="openai_responses", model="gpt-5")

    assert kinds(events)[-1] == Finish("stop")


# --- Anthropic Messages over exact bytes -----------------------------------------------------------------------

START_USAGE = {
    "input_tokens": 12,
    "cache_creation_input_tokens": 2048,
    "cache_read_input_tokens": 4096,
    "output_tokens": 1,
}


def anthropic_stream(*, named=True, stop_reason="end_turn", output_tokens=30, stop=True):
    message = {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "usage": START_USAGE}
    body = (
        anthropic_event("message_start", named, message=message)
        + anthropic_event("content_block_start", named, index=0, content_block={"type": "thinking", "thinking": ""})
        + anthropic_event("ping", named)
        + anthropic_event("content_block_delta", named, index=0, delta={"type": "thinking_delta", "thinking": "Hmm, "})
        + anthropic_event("content_block_delta", named, index=0, delta={"type": "thinking_delta", "thinking": "ok."})
        + anthropic_event("content_block_delta", named, index=0, delta={"type": "signature_delta", "signature": "EqQ"})
        + anthropic_event("content_block_stop", named, index=0)
        + anthropic_event("content_block_start", named, index=1, content_block={"type": "text", "text": ""})
        + anthropic_event("content_block_delta", named, index=1, delta={"type": "text_delta", "text": "Hel"})
        + anthropic_event("content_block_delta", named, index=1, delta={"type": "text_delta", "text": "lo"})
        + anthropic_event("content_block_stop", named, index=1)
        + anthropic_event("content_block_start", named, index=2, content_block={"type": "tool_use", "input": {}})
        + anthropic_event(
            "content_block_delta", named, index=2, delta={"type": "input_json_delta", "partial_json": "{"}
        )
        + anthropic_event("content_block_stop", named, index=2)
        + anthropic_event(
            "message_delta",
            named,
            delta={"stop_reason": stop_reason, "stop_sequence": None},
            usage={"output_tokens": output_tokens},
        )
    )
    return body + (anthropic_event("message_stop", named) if stop else "")


MERGED_USAGE = {**START_USAGE, "output_tokens": 30}


@pytest.mark.parametrize("named", [True, False])
async def test_an_anthropic_stream_yields_thinking_then_text_then_merged_usage_and_stop(named):
    seen = []
    events = await run(
        handler_for(anthropic_stream(named=named), seen=seen), endpoint="anthropic_messages", model="claude-sonnet-4-6"
    )

    assert kinds(events) == [
        # The input half first (message_start): a stream stopped now still has exact input.
        Usage(START_USAGE, partial=True),
        ReasoningDelta("Hmm, "),
        ReasoningDelta("ok."),
        TextDelta("Hel"),
        TextDelta("lo"),
        # The tool_use block's input (its start names no tool here: nothing to pass on for it).
        ToolCallDelta(2, arguments="{"),
        Usage(MERGED_USAGE),
        Finish("stop"),
    ]
    request = seen[0]
    assert str(request.url) == BASE + "/ai-gateway/anthropic/v1/messages"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_the_merged_anthropic_usage_prices_cache_reads_and_writes_apart():
    assert pricing.tokens(MERGED_USAGE, "anthropic_messages") == pricing.Tokens(6156, 30, 4096, 2048, None)
    buckets = pricing.buckets(MERGED_USAGE, "anthropic_messages")
    assert (buckets.input, buckets.cache_read, buckets.cache_write, buckets.output) == (12, 4096, 2048, 30)


def test_each_anthropic_stream_keeps_its_own_usage():
    first, second = AnthropicEvents(), AnthropicEvents()
    started = list(first("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 5}}}))
    assert started == [Usage({"input_tokens": 5}, partial=True)]
    delta = {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 2}}

    assert list(second("message_delta", delta)) == [Usage({"output_tokens": 2})]
    assert list(first("message_delta", delta)) == [Usage({"input_tokens": 5, "output_tokens": 2})]


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [("end_turn", "stop"), ("max_tokens", "length"), ("tool_use", "tool_use"), ("stop_sequence", "stop_sequence")],
)
async def test_anthropic_stop_reasons_become_finish_reasons(stop_reason, finish):
    events = await run(
        handler_for(anthropic_stream(stop_reason=stop_reason)), endpoint="anthropic_messages", model="claude-haiku-4-5"
    )

    assert kinds(events)[-1] == Finish(finish)


async def test_the_anthropic_body_takes_system_apart_and_raises_max_tokens_above_the_budget():
    seen = []
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "more"},
    ]
    await run(
        handler_for(anthropic_stream(), seen=seen),
        endpoint="anthropic_messages",
        model="claude-sonnet-4-6",
        messages=messages,
        params={"max_tokens": 2000, "temperature": 0.5},
        thinking_budget=4000,
    )

    assert json.loads(seen[0].content) == {
        "model": "claude-sonnet-4-6",
        "system": "Be brief.",
        "messages": messages[1:],
        "max_tokens": 5024,
        "stream": True,
        "thinking": {"type": "enabled", "budget_tokens": 4000},
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"max_tokens": 1024}),
        ({"max_tokens": 300, "temperature": 0.2, "top_p": 0.5}, {"max_tokens": 300, "temperature": 0.2}),
        ({"top_p": 0.5, "seed": 3, "presence_penalty": 1.0}, {"max_tokens": 1024, "top_p": 0.5}),
    ],
)
async def test_without_thinking_the_anthropic_body_keeps_one_sampling_parameter(params, expected):
    seen = []
    await run(
        handler_for(anthropic_stream(), seen=seen),
        endpoint="anthropic_messages",
        model="claude-sonnet-4-5",
        params=params,
    )

    sent = json.loads(seen[0].content)
    assert {k: v for k, v in sent.items() if k not in ("model", "messages", "stream")} == expected


async def test_a_max_tokens_above_the_budget_is_kept():
    seen = []
    await run(
        handler_for(anthropic_stream(), seen=seen),
        endpoint="anthropic_messages",
        model="claude-sonnet-4-6",
        params={"max_tokens": 8000},
        thinking_budget=2048,
    )

    assert json.loads(seen[0].content)["max_tokens"] == 8000


@pytest.mark.parametrize("named", [True, False])
async def test_an_anthropic_error_event_raises_its_type_and_message(named):
    message = {"id": "msg_1", "usage": START_USAGE}
    body = (
        anthropic_event("message_start", named, message=message)
        + anthropic_event("content_block_delta", named, index=0, delta={"type": "text_delta", "text": "Hi"})
        + anthropic_event("error", named, error={"type": "overloaded_error", "message": "Overloaded"})
    )
    exc = await run_error(handler_for(body), endpoint="anthropic_messages", model="claude-opus-4-6")

    assert (exc.status, exc.code, exc.message) == (200, "overloaded_error", "Overloaded")


async def test_an_anthropic_stream_cut_before_message_delta_is_a_stream_cut():
    body = anthropic_stream().split("event: message_delta")[0]
    exc = await run_error(handler_for(body), endpoint="anthropic_messages", model="claude-opus-4-6")

    assert exc.code == "stream_cut"


async def test_an_anthropic_stream_with_a_stop_reason_but_no_message_stop_is_complete():
    events = await run(
        handler_for(anthropic_stream(stop=False)), endpoint="anthropic_messages", model="claude-opus-4-6"
    )

    assert kinds(events)[-1] == Finish("stop")


async def test_the_client_stops_reading_at_message_stop():
    body = anthropic_stream() + "data: {broken\n\n"
    events = await run(handler_for(body), endpoint="anthropic_messages", model="claude-opus-4-6")

    assert kinds(events)[-1] == Finish("stop")


async def test_an_anthropic_error_envelope_on_a_400_is_read():
    body = json.dumps(
        {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}}
    )
    handler = handler_for(body, status=400, headers={"content-type": "application/json"})
    exc = await run_error(handler, endpoint="anthropic_messages", model="claude-opus-4-6")

    assert (exc.status, exc.code, exc.message) == (400, "invalid_request_error", "max_tokens: Field required")


# --- The dispatcher --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body", "path"),
    [
        ("chat_completions", 'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n', "/ai-gateway/mlflow/v1/chat/completions"),
        ("openai_responses", responses_stream(), "/ai-gateway/openai/v1/responses"),
        ("anthropic_messages", anthropic_stream(), "/ai-gateway/anthropic/v1/messages"),
    ],
)  # fmt: skip
async def test_stream_completion_sends_each_endpoint_to_its_own_path(endpoint, body, path):
    seen = []
    events = await run(handler_for(body, seen=seen), endpoint=endpoint, model="m")

    assert seen[0].url.path == path
    assert kinds(events)[-1] == Finish("stop")


async def test_an_openai_style_base_url_keeps_every_dialect_under_its_v1():
    seen = []
    await run(
        handler_for(anthropic_stream(), seen=seen),
        endpoint="anthropic_messages",
        model="claude-sonnet-4-6",
        base_url="https://litellm.example/v1",
    )

    assert str(seen[0].url) == "https://litellm.example/v1/messages"


def test_an_unknown_endpoint_is_a_programming_error():
    with pytest.raises(ValueError, match="gemini"):
        gw.stream_completion(None, endpoint="gemini", base_url=BASE, token=TOKEN, model="m", messages=[])


# --- Against the simulator -------------------------------------------------------------------------------------


def say(text):
    return [{"role": "user", "content": text}]


async def collect(base_url, *, endpoint, model, messages=None, params=None, thinking_budget=None):
    async with gw.make_client() as client:
        return [
            event
            async for event in gw.stream_completion(
                client,
                endpoint=endpoint,
                base_url=base_url,
                token=TOKEN,
                model=model,
                messages=messages or say("Tell me about branching"),
                params=params or {},
                thinking_budget=thinking_budget,
            )
        ]


async def failure(base_url, **kwargs):
    with pytest.raises(gw.GatewayError) as info:
        await collect(base_url, **kwargs)
    return info.value


def one_usage(events):
    """The final usage (Anthropic's input-only half from message_start is left out)."""
    usages = [e.raw for e in events if isinstance(e, Usage) and not e.partial]
    assert len(usages) == 1
    return usages[0]


@pytest.mark.parametrize("model", ["gpt-5-3-codex", "gpt-5-5-pro", "gpt-5-mini", "databricks-gpt-5-1-codex-max"])
async def test_responses_only_models_stream_on_the_responses_endpoint(simulator, model):
    messages = [{"role": "system", "content": "Be brief."}, *say("Tell me about branching")]
    events = await collect(simulator, endpoint="openai_responses", model=model, messages=messages)

    assert isinstance(events[0], gw.ResponseInfo) and events[0].status == 200
    assert len([e for e in events if isinstance(e, TextDelta)]) == CHUNKS
    assert text_of(events) == "".join(
        sim.answer_pieces(model.removeprefix("databricks-"), "Tell me about branching", CHUNKS)
    )
    assert not reasoning_of(events)  # no summary was asked for
    assert kinds(events)[-1] == Finish("stop")
    usage = one_usage(events)
    reasoning_tokens = len(sim.reasoning_text("Tell me about branching").split())
    assert usage["input_tokens"] == sim.prompt_tokens_of(messages)
    assert usage["output_tokens_details"] == {"reasoning_tokens": reasoning_tokens}
    assert usage["input_tokens_details"] == {"cached_tokens": 0}
    tokens = pricing.tokens(usage, "openai_responses")
    assert (tokens.prompt, tokens.completion, tokens.reasoning) == (
        usage["input_tokens"],
        CHUNKS + reasoning_tokens,
        reasoning_tokens,
    )
    buckets = pricing.buckets(usage, "openai_responses")
    assert (buckets.input, buckets.output, buckets.reasoning) == (
        usage["input_tokens"],
        CHUNKS + reasoning_tokens,
        reasoning_tokens,
    )


async def test_a_reasoning_effort_streams_the_summary_before_the_text(simulator):
    events = await collect(simulator, endpoint="openai_responses", model="gpt-5", params={"reasoning_effort": "high"})
    kinds_seen = [type(e) for e in kinds(events) if isinstance(e, (TextDelta, ReasoningDelta))]

    assert reasoning_of(events) == sim.reasoning_text("Tell me about branching")
    assert kinds_seen.index(TextDelta) > 0 and ReasoningDelta not in kinds_seen[kinds_seen.index(TextDelta) :]


async def test_cached_tokens_show_in_the_responses_usage_and_buckets(simulator):
    messages = say("Tell me about branching sim:cached=5")
    usage = one_usage(await collect(simulator, endpoint="openai_responses", model="gpt-5", messages=messages))

    assert usage["input_tokens_details"] == {"cached_tokens": 5}
    buckets = pricing.buckets(usage, "openai_responses")
    assert (buckets.input, buckets.cache_read) == (usage["input_tokens"] - 5, 5)


async def test_a_tight_max_output_tokens_ends_incomplete_with_length(simulator):
    reasoning_tokens = len(sim.reasoning_text("Tell me about branching").split())
    events = await collect(
        simulator, endpoint="openai_responses", model="gpt-5", params={"max_tokens": reasoning_tokens + 4}
    )

    # Four words of text (one per chunk; deltas need not be chunks, see gateway/redact.py).
    assert len("".join(e.text for e in events if isinstance(e, TextDelta)).split()) == 4
    assert kinds(events)[-1] == Finish("length")
    assert one_usage(events)["output_tokens"] == reasoning_tokens + 4


async def test_claude_with_thinking_streams_thinking_then_text_with_cache_fields(simulator):
    events = await collect(
        simulator,
        endpoint="anthropic_messages",
        model="claude-sonnet-4-6",
        thinking_budget=2048,
        params={"max_tokens": 500},
    )
    texts = [e for e in kinds(events) if isinstance(e, (TextDelta, ReasoningDelta))]

    assert reasoning_of(events) == sim.reasoning_text("Tell me about branching")
    assert isinstance(texts[0], ReasoningDelta) and isinstance(texts[-1], TextDelta)
    assert [type(e) for e in texts] == sorted((type(e) for e in texts), key=lambda kind: kind is TextDelta)
    assert len([e for e in texts if isinstance(e, TextDelta)]) == CHUNKS
    assert kinds(events)[-1] == Finish("stop")
    usage = one_usage(events)
    thinking_tokens = len(sim.reasoning_text("Tell me about branching").split())
    assert usage == {
        "input_tokens": sim.prompt_tokens_of(say("Tell me about branching")),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": CHUNKS + thinking_tokens,
    }
    buckets = pricing.buckets(usage, "anthropic_messages")
    assert (buckets.input, buckets.output, buckets.cache_read) == (usage["input_tokens"], CHUNKS + thinking_tokens, 0)


async def test_claude_without_thinking_streams_text_only(simulator):
    events = await collect(
        simulator, endpoint="anthropic_messages", model="claude-haiku-4-5", params={"temperature": 0.2}
    )

    assert not reasoning_of(events)
    assert one_usage(events)["output_tokens"] == CHUNKS


async def test_a_cache_control_prefix_is_written_and_sim_cached_is_read(simulator):
    long = "context " * 600  # about 1,200 tokens: past Anthropic's shortest cacheable prefix
    marked = [{"role": "user", "content": [{"type": "text", "text": long, "cache_control": {"type": "ephemeral"}}]}]
    messages = [*marked, {"role": "assistant", "content": "ok"}, *say("Tell me about branching")]
    written = one_usage(
        await collect(simulator, endpoint="anthropic_messages", model="claude-sonnet-4-6", messages=messages)
    )
    read = one_usage(
        await collect(
            simulator,
            endpoint="anthropic_messages",
            model="claude-sonnet-4-6",
            messages=[*messages, *say("sim:cached=900")],
        )
    )

    assert written["cache_creation_input_tokens"] == sim.prompt_tokens_of(marked) >= 1024
    assert written["input_tokens"] == sim.prompt_tokens_of(messages) - written["cache_creation_input_tokens"]
    assert (read["cache_read_input_tokens"], read["cache_creation_input_tokens"]) == (900, 0)
    assert pricing.tokens(read, "anthropic_messages").prompt == sim.prompt_tokens_of(
        [*messages, *say("sim:cached=900")]
    )


async def test_claude_max_tokens_below_the_answer_ends_with_length(simulator):
    events = await collect(simulator, endpoint="anthropic_messages", model="claude-haiku-4-5", params={"max_tokens": 5})

    assert len([e for e in events if isinstance(e, TextDelta)]) == 5
    assert kinds(events)[-1] == Finish("length")


@pytest.mark.parametrize(
    ("endpoint", "model"),
    [
        ("openai_responses", "claude-sonnet-4-6"),
        ("openai_responses", "gpt-oss-120b"),
        ("openai_responses", "gemini-3-flash"),
        ("anthropic_messages", "gpt-5-mini"),
        ("anthropic_messages", "gemini-3-flash"),
    ],
)
async def test_models_of_other_dialects_are_refused(simulator, endpoint, model):
    exc = await failure(simulator, endpoint=endpoint, model=model)

    assert (exc.status, exc.message) == (400, f'model "{model}" is not available on the {endpoint} endpoint')


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (path, {"model": "gpt-5-mini", "input": "hi", "stream": True})
        for path in ("/ai-gateway/openai/v1/responses", "/openai/v1/responses", "/v1/responses")
    ]
    + [
        (path, {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": say("hi"), "stream": True})
        for path in ("/ai-gateway/anthropic/v1/messages", "/anthropic/v1/messages", "/v1/anthropic/v1/messages")
    ],
)
async def test_the_long_and_short_paths_of_both_dialects_answer(simulator, path, body):
    async with httpx.AsyncClient() as client:
        response = await client.post(simulator + path, json=body, headers={"authorization": f"Bearer {TOKEN}"})
        refused = await client.post(simulator + path, json=body)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.count("event: ") == response.text.count("\n\n") - response.text.count(": keep-alive")
    assert refused.status_code == 401


async def post(simulator, path, body):
    async with httpx.AsyncClient() as client:
        response = await client.post(simulator + path, json=body, headers={"authorization": f"Bearer {TOKEN}"})
    return response, gw.error_from_body(response.status_code, response.content, response.headers)


MESSAGES = "/ai-gateway/anthropic/v1/messages"
RESPONSES = "/ai-gateway/openai/v1/responses"
THINKING = {"type": "enabled", "budget_tokens": 2048}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"max_tokens": 2048, "thinking": THINKING}, "`max_tokens` must be greater than `thinking.budget_tokens`."),
        ({"max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 500}}, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"),
        ({"max_tokens": 4096, "thinking": THINKING, "temperature": 0.5}, "`temperature` may only be set to 1 when thinking is enabled."),
        ({}, "max_tokens: Field required"),
        ({"max_tokens": 100, "temperature": 0.5, "top_p": 0.5}, "temperature and top_p cannot both be specified"),
    ],
)  # fmt: skip
async def test_anthropic_refusals_come_in_anthropics_envelope(simulator, extra, message):
    body = {"model": "claude-sonnet-4-6", "messages": say("hi"), "stream": True, **extra}
    response, exc = await post(simulator, MESSAGES, body)

    assert response.json()["type"] == "error"
    assert (exc.status, exc.code) == (400, "invalid_request_error")
    assert exc.message.startswith(message)


async def test_thinking_at_the_default_temperature_is_accepted(simulator):
    body = {
        "model": "claude-sonnet-4-6",
        "messages": say("hi"),
        "max_tokens": 4096,
        "thinking": THINKING,
        "temperature": 1,
    }
    response, _ = await post(simulator, MESSAGES, body)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("extra", "status", "code", "message"),
    [
        ({"temperature": 0.5}, 400, "BAD_REQUEST", "Unsupported parameter: 'temperature'"),
        ({"max_output_tokens": 8}, 400, "BAD_REQUEST", "Invalid 'max_output_tokens'"),
        ({"service_tier": "flex"}, 400, "BAD_REQUEST", "service_tier 'flex' is not supported by Databricks"),
        ({"store": True}, 400, "http_400", "store=true is not supported"),
        ({"previous_response_id": "resp_1"}, 400, "http_400", "previous_response_id is not supported"),
    ],
)
async def test_responses_refusals(simulator, extra, status, code, message):
    response, exc = await post(simulator, RESPONSES, {"model": "gpt-5-3-codex", "input": "hi", "stream": True, **extra})

    assert (exc.status, exc.code) == (status, code)
    assert exc.message.startswith(message)


async def test_non_streaming_requests_get_each_dialects_object(simulator):
    responses, _ = await post(simulator, RESPONSES, {"model": "gpt-5", "input": "Tell me about branching"})
    messages, _ = await post(
        simulator, MESSAGES, {"model": "claude-opus-4-6", "max_tokens": 100, "messages": say("Tell me about branching")}
    )

    expected = "".join(sim.answer_pieces("gpt-5", "Tell me about branching", CHUNKS))
    response = responses.json()
    assert (response["object"], response["status"], response["output"][-1]["content"][0]["text"]) == (
        "response",
        "completed",
        expected,
    )
    message = messages.json()
    assert (message["type"], message["stop_reason"], message["usage"]["output_tokens"]) == (
        "message",
        "end_turn",
        CHUNKS,
    )
    assert message["content"] == [
        {"type": "text", "text": "".join(sim.answer_pieces("claude-opus-4-6", "Tell me about branching", CHUNKS))}
    ]


RATE_LIMITED = "ai gateway account token rate limit exceeded (200000 tokens per minute across all models"


@pytest.mark.parametrize(
    ("endpoint", "model"), [("openai_responses", "gpt-5-3-codex"), ("anthropic_messages", "claude-sonnet-4-6")]
)
@pytest.mark.parametrize(
    ("fault", "status", "code", "message"),
    [
        ("401", 401, "http_401", "invalid or missing credential"),
        ("429", 429, "REQUEST_LIMIT_EXCEEDED", RATE_LIMITED),
        ("502", 502, "http_502", "upstream request failed"),
        ("malformed", 200, "malformed_sse", "The gateway sent a malformed event (invalid JSON)."),
        ("cut", None, "stream_cut", "The gateway closed the stream before the answer was complete."),
    ],
)
async def test_faults_map_to_gateway_errors_on_both_dialects(simulator, endpoint, model, fault, status, code, message):
    exc = await failure(simulator, endpoint=endpoint, model=model, messages=say(f"sim:fault={fault}"))

    assert (exc.status, exc.code) == (status, code)
    assert exc.message.startswith(message)


@pytest.mark.parametrize(
    ("endpoint", "model", "code", "message"),
    [
        ("openai_responses", "gpt-5-mini", "server_error", "ai gateway upstream model endpoint timed out"),
        ("anthropic_messages", "claude-sonnet-4-6", "overloaded_error", "Overloaded"),
    ],
)
@pytest.mark.parametrize("fault", ["cut", "malformed", "error-event"])
async def test_mid_stream_faults_strike_after_some_text_even_after_reasoning(
    simulator, endpoint, model, code, message, fault
):
    events = []
    with pytest.raises(gw.GatewayError) as info:
        async with gw.make_client() as client:
            async for event in gw.stream_completion(
                client,
                endpoint=endpoint,
                base_url=simulator,
                token=TOKEN,
                model=model,
                messages=say(f"Tell me sim:fault={fault}"),
                params={"reasoning_effort": "low"} if endpoint == "openai_responses" else {},
                thinking_budget=1024 if endpoint == "anthropic_messages" else None,
            ):
                events.append(event)

    assert reasoning_of(events)
    assert 0 < len([e for e in events if isinstance(e, TextDelta)]) < CHUNKS
    assert not any(isinstance(e, Finish) or (isinstance(e, Usage) and not e.partial) for e in events)
    # Anthropic reported the input at message_start: the cut request keeps it (partly_estimated).
    partial = [e for e in events if isinstance(e, Usage) and e.partial]
    assert len(partial) == (1 if endpoint == "anthropic_messages" else 0)
    if fault == "error-event":
        assert (info.value.status, info.value.code) == (200, code)
        assert info.value.message.startswith(message)


@pytest.mark.parametrize(
    ("endpoint", "model"), [("openai_responses", "gpt-5-mini"), ("anthropic_messages", "claude-sonnet-4-6")]
)
async def test_the_no_usage_fault_sends_no_usage_on_either_dialect(simulator, endpoint, model):
    events = await collect(simulator, endpoint=endpoint, model=model, messages=say("sim:fault=no-usage"))

    assert not any(isinstance(e, Usage) for e in events)
    assert kinds(events)[-1] == Finish("stop")
