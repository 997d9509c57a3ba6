"""gateway.client against exact byte streams (httpx.MockTransport): the shapes docs/gateway.md records."""

import json
import zlib

import httpx
import pytest

from gateway import client as gw
from gateway.stream import Finish, ReasoningDelta, TextDelta, Usage
from tests.conftest import TOKEN, free_port

BASE = "https://br-winter-pond-aptw82ef-api.ai.c-2.us-east-2.aws.neon.tech"
SSE = {"content-type": "text/event-stream; charset=utf-8"}


def chunk(delta=None, finish=None, **extra):
    choices = [] if delta is None and finish is None else [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    payload = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": choices}
    payload.update(extra)
    return "data: " + json.dumps(payload, ensure_ascii=False) + "\n\n"


class Parts(httpx.AsyncByteStream):
    """A response body delivered in the given pieces, then optionally a transport error."""

    def __init__(self, parts, error=None):
        self.parts = parts
        self.error = error

    async def __aiter__(self):
        for part in self.parts:
            yield part
        if self.error is not None:
            raise self.error


def pieces(body, size):
    data = body.encode() if isinstance(body, str) else body
    if size is None:
        return [data]
    return [data[i : i + size] for i in range(0, len(data), size)]


def make(handler, **kwargs):
    return gw.make_client(transport=httpx.MockTransport(handler), **kwargs)


def sse_handler(body, *, status=200, headers=SSE, size=None, error=None, seen=None):
    def handler(request):
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, headers=headers, stream=Parts(pieces(body, size), error))

    return handler


async def run(handler, model="gpt-5-mini", base_url=BASE, messages=None, **kwargs):
    async with make(handler) as client:
        return [
            event
            async for event in gw.stream_chat(
                client,
                base_url=base_url,
                token=TOKEN,
                model=model,
                messages=messages or [{"role": "user", "content": "hi"}],
                **kwargs,
            )
        ]


async def run_error(handler, **kwargs):
    events = []
    with pytest.raises(gw.GatewayError) as info:
        async with make(handler) as client:
            async for event in gw.stream_chat(
                client,
                base_url=BASE,
                token=TOKEN,
                model="gpt-5-mini",
                messages=[{"role": "user", "content": "hi"}],
                **kwargs,
            ):
                events.append(event)
    return info.value, events


def text_of(events):
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# --- SSE framing ----------------------------------------------------------------------------------------------


async def test_a_plain_stream_yields_response_info_then_text_then_finish():
    body = chunk({"role": "assistant", "content": ""}) + chunk({"content": "Hel"}) + chunk({"content": "lo"})
    body += chunk({}, "stop") + "data: [DONE]\n\n"
    seen = []
    events = await run(sse_handler(body, headers={**SSE, "x-request-id": "req-42"}, seen=seen))

    assert isinstance(events[0], gw.ResponseInfo)
    assert events[0].status == 200 and events[0].request_id == "req-42"
    assert events[1:] == [TextDelta("Hel"), TextDelta("lo"), Finish("stop")]
    request = seen[0]
    assert str(request.url) == BASE + "/ai-gateway/mlflow/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    sent = json.loads(request.content)
    assert sent["model"] == "gpt-5-mini" and sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


async def test_the_body_is_json_as_httpx_writes_it_with_its_content_type():
    messages = [{"role": "user", "content": "Grüße, 漢字 and \u2028 🎉"}]
    seen = []
    await run(sse_handler(chunk({}, "stop"), seen=seen), messages=messages)
    request = seen[0]
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content)["messages"] == messages
    # Byte for byte what httpx's json= sends: compact, UTF-8 (not \u escapes).
    expected = httpx.Request("POST", BASE, json=json.loads(request.content)).content
    assert request.content == expected


def test_a_body_orjson_refuses_is_written_by_the_standard_library():
    body = {"tools": [{"parameters": {"maximum": 2**70}}], "text": "é"}
    assert gw.encode_body(body) == httpx.Request("POST", BASE, json=body).content
    assert json.loads(gw.encode_body(body))["tools"][0]["parameters"]["maximum"] == 2**70


async def test_gemini_models_are_sent_no_stream_options():
    seen = []
    await run(sse_handler(chunk({}, "stop"), seen=seen), model="gemini-2-5-flash")
    await run(sse_handler(chunk({}, "stop"), seen=seen), model="databricks-gemini-3-pro")

    assert all("stream_options" not in json.loads(r.content) for r in seen)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
async def test_a_unicode_line_separator_inside_a_json_string_does_not_split_the_event(separator):
    text = f"one{separator}two"
    body = chunk({"content": text}) + chunk({}, "stop") + "data: [DONE]\n\n"
    # One byte at a time, so the multi-byte separator is also split across reads.
    events = await run(sse_handler(body, size=1))

    assert text_of(events) == text


async def test_data_fields_over_several_lines_are_joined_into_one_payload():
    body = 'data: {"choices":[{"index":0,\ndata: "delta":{"content":"joined"},\ndata: "finish_reason":null}]}\n\n'
    body += chunk({}, "stop") + "data: [DONE]\n\n"
    events = await run(sse_handler(body))

    assert text_of(events) == "joined"


async def test_keep_alive_comments_are_ignored():
    body = ": keep-alive\n\n" + chunk({"content": "a"}) + ": keep-alive\n\n: another comment\n"
    body += chunk({"content": "b"}) + chunk({}, "stop") + ": keep-alive\n\ndata: [DONE]\n\n"
    events = await run(sse_handler(body, size=7))

    assert text_of(events) == "ab"
    assert events[-1] == Finish("stop")


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
async def test_crlf_and_cr_line_endings_are_understood(newline):
    body = (chunk({"content": "x"}) + chunk({"content": "y"}) + chunk({}, "stop") + "data: [DONE]\n\n").replace(
        "\n", newline
    )
    # Split so a CR and its LF land in different reads.
    events = await run(sse_handler(body, size=5))

    assert text_of(events) == "xy"
    assert events[-1] == Finish("stop")


async def test_an_error_event_mid_stream_raises_its_code_and_message():
    error = {"error": {"message": "ai gateway upstream model endpoint timed out", "code": "UPSTREAM_TIMEOUT"}}
    body = chunk({"content": "partial"}) + "data: " + json.dumps(error) + "\n\n"
    exc, events = await run_error(sse_handler(body))

    assert text_of(events) == "partial"
    assert (exc.status, exc.code, exc.message) == (
        200,
        "UPSTREAM_TIMEOUT",
        "ai gateway upstream model endpoint timed out",
    )


async def test_an_event_named_error_raises_even_with_a_plain_text_payload():
    body = chunk({"content": "partial"}) + "event: error\ndata: upstream went away\n\n"
    exc, _ = await run_error(sse_handler(body))

    # Text that is not an error envelope is never shown (see _message_from).
    assert (exc.code, exc.message) == ("stream_error", "The gateway reported an error mid-stream.")


async def test_a_body_ending_without_done_or_finish_reason_is_a_stream_cut():
    body = chunk({"role": "assistant"}) + chunk({"content": "half an ans"})
    exc, events = await run_error(sse_handler(body))

    assert (exc.status, exc.code) == (None, "stream_cut")
    assert text_of(events) == "half an ans"


async def test_a_body_with_finish_reason_but_no_done_is_complete():
    events = await run(sse_handler(chunk({"content": "ok"}) + chunk({}, "length")))

    assert events[-1] == Finish("length")


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_a_compressed_event_stream_is_decoded(coding):
    # The body is read straight from the transport only without a content coding.
    body = (
        chunk({"content": "Grüße, "}) + chunk({"content": "world"}) + chunk({}, "stop") + "data: [DONE]\n\n"
    ).encode()
    packer = zlib.compressobj(wbits=31 if coding == "gzip" else 15)
    packed = packer.compress(body) + packer.flush()
    handler = sse_handler(packed, headers={**SSE, "content-encoding": coding}, size=7)

    events = await run(handler)

    assert text_of(events) == "Grüße, world"
    assert events[-1] == Finish("stop")


async def test_an_identity_coded_stream_is_read_as_it_arrives():
    handler = sse_handler(chunk({"content": "a"}) + chunk({}, "stop"), headers={**SSE, "content-encoding": "identity"})

    assert text_of(await run(handler)) == "a"


async def test_a_connection_dropped_mid_body_is_a_stream_cut():
    handler = sse_handler(chunk({"content": "a"}), error=httpx.RemoteProtocolError("peer closed connection"))
    exc, events = await run_error(handler)

    assert (exc.status, exc.code) == (None, "stream_cut")
    assert text_of(events) == "a"


async def test_invalid_json_in_a_data_line_is_malformed_sse():
    body = chunk({"content": "a"}) + 'data: {"choices":[{"delta":{"content":"b\n\n' + chunk({}, "stop")
    exc, _ = await run_error(sse_handler(body))

    assert (exc.status, exc.code) == (200, "malformed_sse")


async def test_an_answer_that_is_not_an_event_stream_is_refused():
    handler = sse_handler('{"object":"chat.completion"}', headers={"content-type": "application/json"})
    exc, _ = await run_error(handler)

    assert exc.code == "not_a_stream"


# --- Usage and content shapes (docs/gateway.md) --------------------------------------------------------------


async def test_usage_on_every_chunk_is_yielded_every_time():
    """Databricks' llama shape: a cumulative usage object on each chunk; the caller keeps the last."""

    def usage(n):
        return {
            "completion_tokens": n,
            "prompt_tokens": 9,
            "total_tokens": 9 + n,
            "completion_tokens_details": None,
            "prompt_tokens_details": None,
        }

    body = chunk({"role": "assistant", "content": ""}, usage=usage(0)) + chunk({"content": "a"}, usage=usage(1))
    body += chunk({"content": "b"}, usage=usage(2)) + chunk({}, "stop", usage=usage(2)) + "data: [DONE]\n\n"
    events = await run(sse_handler(body))

    usages = [e.raw for e in events if isinstance(e, Usage)]
    assert usages == [usage(0), usage(1), usage(2), usage(2)]
    assert text_of(events) == "ab"


async def test_the_final_usage_chunk_without_choices_yields_usage_after_finish():
    usage = {
        "prompt_tokens": 12,
        "completion_tokens": 2,
        "total_tokens": 14,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    body = chunk({"content": "hi"}, usage=None) + chunk({}, "stop", usage=None) + chunk(usage=usage)
    body += "data: [DONE]\n\n"
    events = await run(sse_handler(body))

    assert events[1:] == [TextDelta("hi"), Finish("stop"), Usage(usage)]


async def test_a_content_array_splits_reasoning_from_text():
    parts = [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Think "}, {"text": "first."}]},
        {"type": "text", "text": "Answer"},
    ]
    body = chunk({"content": parts}) + chunk({"content": [{"type": "reasoning", "content": [{"text": "more"}]}]})
    body += chunk({"content": [{"type": "text", "text": "!"}]}) + chunk({}, "stop") + "data: [DONE]\n\n"
    events = await run(sse_handler(body))

    assert events[1:] == [
        ReasoningDelta("Think first."),
        TextDelta("Answer"),
        ReasoningDelta("more"),
        TextDelta("!"),
        Finish("stop"),
    ]


async def test_reasoning_content_deltas_become_reasoning_events():
    body = chunk({"reasoning_content": "Let me see."}) + chunk({"content": "Yes."}) + chunk({}, "stop")
    events = await run(sse_handler(body + "data: [DONE]\n\n"))

    assert events[1:] == [ReasoningDelta("Let me see."), TextDelta("Yes."), Finish("stop")]


# --- Error envelopes (docs/gateway.md) ---------------------------------------------------------------------------

SHAPE_3 = {
    "error_code": "BAD_REQUEST",
    "message": json.dumps({"error": {"message": "Invalid 'max_output_tokens': integer below minimum value."}}),
}


@pytest.mark.parametrize(
    ("status", "payload", "code", "message"),
    [
        pytest.param(
            400, {"error": {"message": 'unknown model "x"'}}, "http_400", 'unknown model "x"', id="shape1-oct"
        ),
        pytest.param(
            400,
            {"error": {"message": 'unknown model "x"', "type": "invalid_request_error", "code": "invalid_model"}},
            "invalid_model",
            'unknown model "x"',
            id="shape1-july",
        ),
        pytest.param(
            429,
            {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "ai gateway account daily spend limit exceeded"},
            "REQUEST_LIMIT_EXCEEDED",
            "ai gateway account daily spend limit exceeded",
            id="shape2",
        ),
        pytest.param(
            400, SHAPE_3, "BAD_REQUEST", "Invalid 'max_output_tokens': integer below minimum value.", id="shape3"
        ),
        pytest.param(
            400,
            {
                "error_code": "BAD_REQUEST",
                "message": json.dumps(
                    {"type": "error", "error": {"type": "invalid_request_error", "message": "no temperature"}}
                ),
            },
            "BAD_REQUEST",
            "no temperature",
            id="shape3-anthropic-inside",
        ),
        pytest.param(
            429,
            {"type": "error", "error": {"type": "rate_limit_error", "message": "Number of requests exceeded"}},
            "rate_limit_error",
            "Number of requests exceeded",
            id="shape4-anthropic",
        ),
    ],
)
def test_error_from_body_reads_every_envelope_shape(status, payload, code, message):
    exc = gw.error_from_body(status, json.dumps(payload).encode())

    assert (exc.status, exc.code, exc.message) == (status, code, message)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "The gateway answered HTTP 502 with no error message."),
        # A body that is not a gateway error envelope is never shown: a URL pointed at
        # another service must not read back what it answers.
        (b"Bad Gateway\n", "The gateway answered HTTP 502 with no error message."),
        (b"<html><body>nginx</body></html>", "The gateway answered HTTP 502 with no error message."),
        (b'"-ERR unknown command"', "The gateway answered HTTP 502 with no error message."),
        (b'{"version": "7.2", "secret": "s3"}', "The gateway answered HTTP 502 with no error message."),
    ],
)
def test_error_from_body_copes_with_bodies_that_are_not_json(body, message):
    exc = gw.error_from_body(502, body)

    assert (exc.code, exc.message) == ("http_502", message)


async def test_an_http_error_keeps_retry_after_and_rate_limit_headers():
    headers = {
        "content-type": "application/json",
        "Retry-After": "7",
        "X-Ratelimit-Limit-Tokens": "200000",
        "X-Ratelimit-Remaining-Tokens": "0",
        "X-Ratelimit-Reset-Tokens": "7s",
        "X-Ratelimit-Remaining-Requests": "999",
        "x-request-id": "req-429",
    }
    body = json.dumps({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "ai gateway account token rate limit"})
    exc, events = await run_error(sse_handler(body, status=429, headers=headers))

    assert events == []
    assert (exc.status, exc.code, exc.retry_after, exc.request_id) == (429, "REQUEST_LIMIT_EXCEEDED", 7.0, "req-429")
    assert exc.rate_limit == {
        "retry-after": "7",
        "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "7s",
        "x-ratelimit-remaining-requests": "999",
    }


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        ("0.5", 0.5),
        ("600", 600.0),
        ("-3", None),
        ("nan", None),
        ("", None),
        ("Wed, 21 Oct 2026 07:30:00 GMT", 120.0),  # an HTTP date: seconds from now
        ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),  # already past
        ("Wed, 21 Oct 2026 07:30:00", None),  # no zone: not an HTTP date
        ("soon", None),
    ],
)
def test_retry_after_is_seconds_an_http_date_or_unknown(value, seconds):
    from datetime import UTC, datetime

    now = datetime(2026, 10, 21, 7, 28, tzinfo=UTC)
    assert gw.parse_retry_after(value, now=now) == seconds


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "20000", "retry-after": "20"}, 20.0),
        ({"retry-after-ms": "250", "retry-after": "1"}, 0.25),  # the precise one wins
        ({"retry-after-ms": "bad", "retry-after": "3"}, 3.0),
        ({"retry-after": "600"}, 600.0),
        ({}, None),
    ],
)
def test_retry_after_ms_wins_over_retry_after(headers, seconds):
    assert gw.retry_after_of(headers) == seconds


# --- Transport --------------------------------------------------------------------------------------------------


async def test_connection_refused_is_a_connection_error():
    port = free_port()  # bound and released: nothing listens there now
    with pytest.raises(gw.GatewayError) as info:
        async with gw.make_client(connect_timeout=2.0, allowed_hosts=[f"127.0.0.1:{port}"]) as client:
            async for _ in gw.stream_chat(
                client, base_url=f"http://127.0.0.1:{port}", token=TOKEN, model="gpt-5-mini", messages=[]
            ):
                pass

    assert (info.value.status, info.value.code) == (None, "connection_error")
    assert TOKEN not in repr(info.value) and TOKEN not in str(info.value)


async def test_a_read_timeout_is_reported_as_such():
    def handler(request):
        raise httpx.ReadTimeout("timed out", request=request)

    exc, _ = await run_error(handler)

    assert (exc.status, exc.code) == (None, "read_timeout")


@pytest.mark.parametrize("follow", [False, True])
async def test_redirects_are_never_followed(follow):
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(307, headers={"location": "https://evil.example/steal"})

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, follow_redirects=follow) as client:
        with pytest.raises(gw.GatewayError) as stream_info:
            async for _ in gw.stream_chat(client, base_url=BASE, token=TOKEN, model="gpt-5-mini", messages=[]):
                pass
        with pytest.raises(gw.GatewayError) as list_info:
            await gw.list_models(client, base_url=BASE, token=TOKEN)

    assert (stream_info.value.status, stream_info.value.code) == (307, "redirect")
    assert (list_info.value.status, list_info.value.code) == (307, "redirect")
    assert [r.url.host for r in seen] == [httpx.URL(BASE).host] * 2


async def test_list_models_reads_ids_and_enabled_flags():
    payload = {
        "object": "list",
        "data": [
            {"id": "gpt-5-mini", "enabled": True, "owned_by": "openai"},
            {"id": "claude-opus-5", "enabled": False},
            {"id": "inkling"},
            {"name": "no id"},
        ],
    }
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json=payload)

    async with make(handler) as client:
        models = await gw.list_models(client, base_url=BASE + "/ai-gateway/mlflow/v1/", token=TOKEN)

    assert models == [
        {"id": "gpt-5-mini", "enabled": True},
        {"id": "claude-opus-5", "enabled": False},
        {"id": "inkling", "enabled": True},
    ]
    assert str(seen[0].url) == BASE + "/v1/models"


async def test_list_models_refuses_a_list_without_data():
    async with make(lambda request: httpx.Response(200, json={"models": []})) as client:
        with pytest.raises(gw.GatewayError) as info:
            await gw.list_models(client, base_url=BASE, token=TOKEN)

    assert info.value.code == "malformed_models"


# --- URLs -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "chat", "models"),
    [
        (BASE, BASE + "/ai-gateway/mlflow/v1", BASE + "/v1/models"),
        (BASE + "/", BASE + "/ai-gateway/mlflow/v1", BASE + "/v1/models"),
        (BASE + "/ai-gateway/mlflow/v1", BASE + "/ai-gateway/mlflow/v1", BASE + "/v1/models"),
        (BASE + "/ai-gateway/mlflow/v1/", BASE + "/ai-gateway/mlflow/v1", BASE + "/v1/models"),
        (BASE + "/ai-gateway/openai/v1", BASE + "/ai-gateway/mlflow/v1", BASE + "/v1/models"),
        ("  " + BASE + "  ", BASE + "/ai-gateway/mlflow/v1", BASE + "/v1/models"),
        ("https://api.openai.com/v1", "https://api.openai.com/v1", "https://api.openai.com/v1/models"),
        ("https://api.openai.com/v1/", "https://api.openai.com/v1", "https://api.openai.com/v1/models"),
        ("http://localhost:4000/v1", "http://localhost:4000/v1", "http://localhost:4000/v1/models"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001/ai-gateway/mlflow/v1", "http://127.0.0.1:8001/v1/models"),
    ],
)
def test_resolve_urls_finds_the_chat_and_model_paths(base_url, chat, models):
    urls = gw.resolve_urls(base_url)

    assert (urls.chat_completions, urls.models) == (chat, models)


def test_resolve_urls_places_the_other_dialects_on_a_neon_host():
    urls = gw.resolve_urls(BASE + "/")

    assert urls.root == BASE
    assert urls.openai_responses == BASE + "/ai-gateway/openai/v1"
    assert urls.anthropic_messages == BASE + "/ai-gateway/anthropic/v1"


@pytest.mark.parametrize("token", ["", None, "   "])
async def test_an_empty_token_sends_no_authorization_header(token):
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(401, json={"error": {"message": "invalid or missing credential"}})

    async with make(handler) as client:
        with pytest.raises(gw.GatewayError) as info:
            await gw.list_models(client, base_url=BASE, token=token)

    assert "authorization" not in seen[0].headers
    assert (info.value.status, info.value.message) == (401, "invalid or missing credential")
