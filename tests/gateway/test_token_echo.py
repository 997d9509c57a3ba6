"""A gateway (or a proxy) that echoes the token: the client scrubs it from all it yields."""

import json

import httpx
import pytest

from gateway import client as gw
from gateway.redact import HOLD_FROM, MASK, Redactor
from gateway.stream import Finish, ReasoningDelta, TextDelta, Usage
from tests.conftest import TOKEN
from tests.gateway.test_client_stream import SSE, chunk, make, run, run_error, sse_handler, text_of

BASE = "https://br-winter-pond-aptw82ef-api.ai.c-2.us-east-2.aws.neon.tech"


def echo_error(status):
    def handler(request):
        sent = request.headers["authorization"].removeprefix("Bearer ")
        body = {"error": {"code": f"bad_{sent}", "message": f"Invalid token {sent} (Authorization: Bearer {sent})"}}
        headers = {"x-request-id": f"req-{sent}", "x-ratelimit-remaining-tokens": sent, "retry-after": "0"}
        return httpx.Response(status, json=body, headers=headers)

    return handler


@pytest.mark.parametrize("status", [401, 429, 500])
async def test_an_error_response_echoing_the_token_is_scrubbed_everywhere(status):
    exc, events = await run_error(echo_error(status))
    assert events == []
    for value in (exc.message, exc.code, exc.request_id, str(exc), repr(exc), json.dumps(exc.rate_limit)):
        assert TOKEN not in value
    assert MASK in exc.message and exc.request_id == f"req-{MASK}"
    assert exc.rate_limit["x-ratelimit-remaining-tokens"] == MASK
    assert exc.status == status


async def test_a_truncated_token_in_an_error_message_is_scrubbed_too():
    def handler(request):
        return httpx.Response(401, json={"error": {"message": f"bad credential {TOKEN[:20]}..."}})

    exc, _ = await run_error(handler)
    assert TOKEN[:20] not in exc.message and MASK in exc.message


async def test_a_mid_stream_error_event_echoing_the_token_is_scrubbed():
    body = chunk({"content": "Hello"}) + f'event: error\ndata: {{"error": {{"message": "token {TOKEN} revoked"}}}}\n\n'
    exc, events = await run_error(sse_handler(body))
    assert TOKEN not in exc.message and MASK in exc.message
    assert text_of(events) == "Hello"


async def test_response_headers_echoing_the_token_are_scrubbed():
    body = chunk({"content": "Hi"}) + chunk({}, "stop") + "data: [DONE]\n\n"
    headers = {**SSE, "x-request-id": TOKEN, "x-ratelimit-limit-requests": f"{TOKEN}-100"}
    events = await run(sse_handler(body, headers=headers))
    info = events[0]
    assert isinstance(info, gw.ResponseInfo)
    assert info.request_id == MASK
    assert info.rate_limit == {"x-ratelimit-limit-requests": f"{MASK}-100"}


async def test_the_token_in_the_answer_text_is_masked_even_split_across_two_chunks():
    half = len(TOKEN) // 2
    body = (
        chunk({"content": f"Your token is {TOKEN[:half]}"})
        + chunk({"content": f"{TOKEN[half:]}, and again {TOKEN}."})
        + chunk({"reasoning_content": f"I saw {TOKEN[:5]}"})
        + chunk({"reasoning_content": f"{TOKEN[5:]} in the prompt"})
        + chunk({}, "stop")
        + "data: [DONE]\n\n"
    )
    # Delivered one byte at a time as well: the split lands everywhere.
    for size in (None, 1):
        events = await run(sse_handler(body, size=size))
        text = text_of(events)
        reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
        assert text == f"Your token is {MASK}, and again {MASK}."
        assert reasoning == f"I saw {MASK} in the prompt"
        assert all(TOKEN not in e.text for e in events if isinstance(e, TextDelta | ReasoningDelta))
        assert isinstance(events[-1], Finish)


async def test_text_that_only_looks_like_the_start_of_the_token_is_released_unchanged():
    start = TOKEN[:10]
    body = chunk({"content": f"ends with {start}"}) + chunk({"content": " and goes on"}) + chunk({}, "stop")
    events = await run(sse_handler(body))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(deltas) == f"ends with {start} and goes on"
    # Only the part that could begin the token waited for the next chunk.
    assert deltas[0] == "ends with "


async def test_held_back_text_is_released_before_an_error():
    body = chunk({"content": f"partial {TOKEN[:6]}"})
    exc, events = await run_error(sse_handler(body, error=httpx.RemoteProtocolError("cut")))
    assert exc.code == "stream_cut"
    assert text_of(events) == f"partial {TOKEN[:6]}"


async def test_usage_echoing_the_token_is_scrubbed():
    body = chunk({"content": "Hi"}) + chunk(None, usage={"prompt_tokens": 3, "note": TOKEN}) + chunk({}, "stop")
    events = await run(sse_handler(body))
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage.raw == {"prompt_tokens": 3, "note": MASK}


async def test_the_model_list_scrubs_an_echoed_token():
    with pytest.raises(gw.GatewayError) as info:
        async with make(echo_error(403)) as client:
            await gw.list_models(client, base_url=BASE, token=TOKEN)
    assert TOKEN not in info.value.message and TOKEN not in info.value.request_id


async def test_the_responses_and_anthropic_dialects_scrub_too():
    for endpoint, body in (
        (
            "openai_responses",
            f'event: response.output_text.delta\ndata: {{"type": "response.output_text.delta", "delta": "{TOKEN}"}}\n\n'
            'event: response.completed\ndata: {"type": "response.completed", "response": {"status": "completed"}}\n\n',
        ),
        (
            "anthropic_messages",
            "event: content_block_delta\n"
            f'data: {{"type": "content_block_delta", "delta": {{"type": "text_delta", "text": "{TOKEN}"}}}}\n\n'
            'event: message_stop\ndata: {"type": "message_stop"}\n\n',
        ),
    ):
        async with make(sse_handler(body, size=7)) as client:
            events = [
                e
                async for e in gw.stream_completion(
                    client,
                    endpoint=endpoint,
                    base_url=BASE,
                    token=TOKEN,
                    model="m",
                    messages=[{"role": "user", "content": "hi"}],
                )
            ]
        assert text_of(events) == MASK


def test_the_stream_redactor_holds_back_at_most_the_length_of_the_token_less_one():
    stream = Redactor(TOKEN).stream()
    assert stream.feed("x" * 1000 + TOKEN[:-1]) == "x" * 1000
    assert stream.pending == TOKEN[:-1]
    assert stream.feed("!") == TOKEN[:-1] + "!"
    assert stream.feed(TOKEN[:3]) == ""
    assert stream.flush() == TOKEN[:3]


def test_a_piece_ending_in_the_tokens_first_letters_is_not_held_back():
    # Answers end pieces in "n" all the time; waiting for the next piece would add a whole
    # chunk interval to each of them.
    stream = Redactor(TOKEN).stream()
    assert stream.feed("the plan") == "the plan"
    assert stream.feed(" and then a") == " and then a"
    assert stream.feed(f" {TOKEN[:2]}") == f" {TOKEN[:2]}"
    # ...and if the token does begin there, the rest of it is still masked.
    assert stream.feed(TOKEN[2:] + " end") == MASK + " end"


def test_however_the_answer_is_cut_the_token_never_shows_beyond_its_first_letters():
    text = f"say {TOKEN}, then {TOKEN[:7]} and {TOKEN} again"
    allowed = {text.replace(TOKEN, MASK)}
    # A piece may end just after one or two of a token's first characters: those show.
    for first in range(HOLD_FROM):
        for second in range(HOLD_FROM):
            allowed.add(
                f"say {TOKEN[:first]}{MASK}, then {TOKEN[:7]} and {TOKEN[:second]}{MASK} again",
            )
    cuts = [[text[i : i + 1] for i in range(len(text))]]  # one character a piece
    cuts += [[text[:a], text[a:]] for a in range(len(text) + 1)]
    cuts += [[text[:a], text[a:b], text[b:]] for a in range(0, len(text), 3) for b in range(a, len(text), 5)]
    for pieces in cuts:
        stream = Redactor(TOKEN).stream()
        out = "".join(stream.feed(piece) for piece in pieces) + stream.flush()
        assert out in allowed, pieces
        assert TOKEN[HOLD_FROM - 1 :] not in out


def test_no_token_scrubs_nothing():
    redact = Redactor("")
    assert redact.text("nothing to hide") == "nothing to hide"
    assert redact.stream().feed("abc") == "abc"
