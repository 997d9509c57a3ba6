"""The gateway simulator over real loopback HTTP with the real client (the `simulator` fixture: 12 chunks, 5 ms
to first token, 2 ms apart), plus a few in-process checks of its configuration through httpx.ASGITransport."""

import asyncio
import json

import httpx
import pytest
from django.core.management import call_command

from gateway import client as gw
from gateway import simulator as sim
from gateway.stream import Finish, ReasoningDelta, TextDelta, Usage
from tests.conftest import TOKEN

CHUNKS = 12  # SIMULATOR_CHUNKS in tests/conftest.py


def say(text):
    return [{"role": "user", "content": text}]


async def collect(base_url, model="gpt-5-mini", messages=None, token=TOKEN, client=None, **kwargs):
    own = client is None
    client = client or gw.make_client()
    try:
        return [
            event
            async for event in gw.stream_chat(
                client, base_url=base_url, token=token, model=model, messages=messages or say("hello"), **kwargs
            )
        ]
    finally:
        if own:
            await client.aclose()


async def failure(base_url, **kwargs):
    with pytest.raises(gw.GatewayError) as info:
        await collect(base_url, **kwargs)
    return info.value


def text_of(events):
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def usages(events):
    return [e.raw for e in events if isinstance(e, Usage)]


# --- Normal streams ---------------------------------------------------------------------------------------------


async def test_a_stream_has_text_a_finish_and_usage(simulator):
    events = await collect(simulator, messages=say("Tell me about branching"))

    info = events[0]
    assert isinstance(info, gw.ResponseInfo) and info.status == 200
    assert len(info.request_id) == 32
    assert info.rate_limit["x-ratelimit-limit-tokens"] == "200000"
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == CHUNKS and text_of(events).strip()
    assert [e for e in events if isinstance(e, Finish)] == [Finish("stop")]
    assert usages(events) == [
        {
            "prompt_tokens": 9,  # 23 characters // 4 + 4
            "completion_tokens": CHUNKS,
            "total_tokens": 9 + CHUNKS,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }
    ]
    assert isinstance(events[-1], Usage)  # the usage chunk comes after the finish


async def test_the_text_is_deterministic_and_depends_on_model_and_prompt(simulator):
    first = text_of(await collect(simulator, messages=say("Tell me about branching")))
    again = text_of(await collect(simulator, messages=say("Tell me about branching")))
    other_prompt = text_of(await collect(simulator, messages=say("Something else entirely")))
    other_model = text_of(await collect(simulator, model="claude-haiku-4-5", messages=say("Tell me about branching")))

    assert first == again
    assert first != other_prompt and first != other_model


def test_the_text_has_a_little_markdown():
    text = "".join(sim.answer_pieces("gpt-5-mini", "Tell me about branching", 64))

    assert "**" in text and "\n\n- " in text and "\n- " in text


async def test_max_tokens_below_the_answer_length_ends_with_length(simulator):
    events = await collect(simulator, params={"max_tokens": 5})

    assert len([e for e in events if isinstance(e, TextDelta)]) == 5
    assert Finish("length") in events
    assert usages(events)[-1]["completion_tokens"] == 5


async def test_the_chunk_count_can_be_set_per_request(simulator):
    events = await collect(simulator, messages=say("short one sim:chunks=3"))

    assert len([e for e in events if isinstance(e, TextDelta)]) == 3


@pytest.mark.parametrize("suffix", ["", "/", "/ai-gateway/mlflow/v1", "/v1", "/v1/"])
async def test_the_long_and_short_paths_both_answer(simulator, suffix):
    paths = []
    client = gw.make_client()
    client.event_hooks["request"] = [lambda request: _record(paths, request)]
    async with client:
        events = await collect(simulator + suffix, client=client)

    expected = "/v1/chat/completions" if suffix.startswith("/v1") else "/ai-gateway/mlflow/v1/chat/completions"
    assert paths == [expected]
    assert len([e for e in events if isinstance(e, TextDelta)]) == CHUNKS


async def _record(paths, request):
    paths.append(request.url.path)


async def test_the_databricks_prefixed_alias_gives_the_same_answer(simulator):
    plain = await collect(simulator, model="claude-sonnet-4-6")
    alias = await collect(simulator, model="databricks-claude-sonnet-4-6")

    assert text_of(plain) == text_of(alias)


async def test_llama_models_carry_cumulative_usage_on_every_chunk(simulator):
    events = await collect(simulator, model="llama-4-maverick")

    seen = usages(events)
    assert len(seen) == CHUNKS + 2  # the role chunk, every delta and the finish chunk
    assert [u["completion_tokens"] for u in seen] == [*range(CHUNKS + 1), CHUNKS]
    assert seen[-1]["prompt_tokens_details"] is None


async def test_gpt_oss_sends_reasoning_first_through_the_content_array(simulator):
    events = await collect(simulator, model="gpt-oss-120b", messages=say("Explain vacuum"))

    kinds = [type(e) for e in events if isinstance(e, (TextDelta, ReasoningDelta))]
    assert kinds[0] is ReasoningDelta and kinds.count(ReasoningDelta) == 1
    assert kinds.count(TextDelta) == CHUNKS
    reasoning = next(e.text for e in events if isinstance(e, ReasoningDelta))
    usage = usages(events)[-1]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == len(reasoning.split())
    assert usage["completion_tokens"] == CHUNKS + len(reasoning.split())


async def test_gemini_streams_without_usage_when_not_asked(simulator):
    events = await collect(simulator, model="gemini-2-5-flash")

    assert text_of(events) and usages(events) == []
    assert events[-1] == Finish("stop")


async def test_no_usage_fault_sends_no_usage_even_for_llama(simulator):
    for model in ("gpt-5-mini", "llama-4-maverick"):
        events = await collect(simulator, model=model, messages=say("hi sim:fault=no-usage"))
        assert text_of(events) and usages(events) == [], model


async def test_two_hundred_concurrent_streams_all_arrive_whole(simulator):
    async with gw.make_client() as client:
        results = await asyncio.gather(
            *(collect(simulator, client=client, messages=say(f"question {i % 4}")) for i in range(200))
        )

    for i, events in enumerate(results):
        assert text_of(events) == text_of(results[i % 4])
        # The whole answer. (Deltas need not be chunks: the client may hold back the end
        # of a chunk that could begin the token, see gateway/redact.py.)
        assert text_of(events) == "".join(sim.answer_pieces("gpt-5-mini", f"question {i % 4}", CHUNKS))
        assert usages(events)


# --- Refusals -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "sk-not-a-neon-token", "nt_live_"])
async def test_a_missing_or_malformed_token_is_refused(simulator, token):
    exc = await failure(simulator, token=token)

    assert (exc.status, exc.message) == (401, "invalid or missing credential")


async def test_an_unknown_model_is_refused(simulator):
    exc = await failure(simulator, model="gpt-9-ultra")

    assert (exc.status, exc.code, exc.message) == (400, "invalid_model", 'unknown model "gpt-9-ultra"')


async def test_a_missing_model_is_refused(simulator):
    exc = await failure(simulator, model="")

    assert (exc.status, exc.message) == (400, "missing or invalid model")


@pytest.mark.parametrize("model", ["qwen3-embedding-0-6b", "gpt-5-3-codex"])
async def test_models_of_other_dialects_are_refused_on_chat(simulator, model):
    exc = await failure(simulator, model=model)

    assert (exc.status, exc.message) == (400, f'model "{model}" is not available on the chat_completions endpoint')


async def test_gemini_refuses_stream_options(simulator):
    exc = await failure(simulator, model="gemini-3-pro", include_usage=True)

    assert (exc.status, exc.code) == (400, "BAD_REQUEST")
    assert exc.message == "Invalid JSON payload received. Unknown name \"stream_options\" at 'generation_config'"


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("claude-opus-4-7", "claude-opus-4-7 does not support the temperature parameter"),
        ("databricks-claude-sonnet-5", "claude-sonnet-5 does not support the temperature parameter"),
        ("gpt-5-mini", "Unsupported parameter: 'temperature' is not supported with this model."),
    ],
)
async def test_models_without_temperature_refuse_it_as_an_upstream_bad_request(simulator, model, message):
    exc = await failure(simulator, model=model, params={"temperature": 0.2})

    assert (exc.status, exc.code, exc.message) == (400, "BAD_REQUEST", message)


async def test_older_claude_models_accept_temperature(simulator):
    events = await collect(simulator, model="claude-sonnet-4-5", params={"temperature": 0.2})

    assert text_of(events)


# --- Faults -------------------------------------------------------------------------------------------------------

RATE_LIMITED = "ai gateway account token rate limit exceeded (200000 tokens per minute across all models"


@pytest.mark.parametrize(
    ("fault", "status", "code", "message", "retry_after"),
    [
        ("401", 401, "http_401", "invalid or missing credential", None),
        ("403-scope", 403, "http_403", "credential not authorized for ai gateway", None),
        ("403-branch", 403, "http_403", "credential not authorized for this branch", None),
        ("403-verified", 403, "http_403", "model requires a verified account", None),
        ("400", 400, "BAD_REQUEST", "Invalid 'max_tokens': integer below minimum value.", None),
        ("413", 413, "http_413", "request body too large", None),
        ("429", 429, "REQUEST_LIMIT_EXCEEDED", RATE_LIMITED, 7.0),
        (
            "429-short",
            429,
            "REQUEST_LIMIT_EXCEEDED",
            'ai gateway token rate limit exceeded for model "gpt-5-mini"',
            1.0,
        ),
        ("500", 500, "INTERNAL_ERROR", "ai gateway upstream model error", None),
        ("502", 502, "http_502", "upstream request failed", None),
        ("503", 503, "http_503", "authorization temporarily unavailable", None),
        ("malformed", 200, "malformed_sse", "The gateway sent a malformed event (invalid JSON).", None),
        ("error-event", 200, "UPSTREAM_TIMEOUT", "ai gateway upstream model endpoint timed out", None),
        ("cut", None, "stream_cut", "The gateway closed the stream before the answer was complete.", None),
    ],
)
async def test_each_fault_maps_to_its_gateway_error(simulator, fault, status, code, message, retry_after):
    exc = await failure(simulator, messages=say(f"please fail sim:fault={fault}"))

    assert (exc.status, exc.code, exc.retry_after) == (status, code, retry_after)
    assert exc.message.startswith(message)


async def test_a_rate_limit_fault_carries_the_rate_limit_headers(simulator):
    exc = await failure(simulator, messages=say("sim:fault=429"))

    assert exc.rate_limit["retry-after"] == "7"
    assert exc.rate_limit["x-ratelimit-remaining-tokens"] == "0"
    # Every header the gateway's 429 carries (docs/gateway.md); `retry-after-ms` is read too,
    # for OpenAI-style gateways that send it, but the simulator speaks Neon's dialect.
    assert set(gw.RATE_LIMIT_HEADERS) - {"retry-after-ms"} <= set(exc.rate_limit)
    assert "retry-after-ms" not in exc.rate_limit
    assert len(exc.request_id) == 32


@pytest.mark.parametrize("fault", ["cut", "malformed", "error-event"])
async def test_mid_stream_faults_strike_after_some_text(simulator, fault):
    events = []
    with pytest.raises(gw.GatewayError):
        async with gw.make_client() as client:
            async for event in gw.stream_chat(
                client, base_url=simulator, token=TOKEN, model="gpt-5-mini", messages=say(f"sim:fault={fault}")
            ):
                events.append(event)

    assert 0 < len([e for e in events if isinstance(e, TextDelta)]) < CHUNKS
    assert not any(isinstance(e, Finish) for e in events)


async def test_a_hung_stream_ends_in_a_read_timeout(simulator):
    events = []
    with pytest.raises(gw.GatewayError) as info:
        async with gw.make_client(read_timeout=0.3) as client:
            async for event in gw.stream_chat(
                client, base_url=simulator, token=TOKEN, model="gpt-5-mini", messages=say("sim:fault=hang")
            ):
                events.append(event)

    assert (info.value.status, info.value.code) == (None, "read_timeout")
    assert [type(e) for e in events] == [gw.ResponseInfo]


async def test_a_fault_scoped_to_one_model_spares_the_others(simulator):
    messages = say("compare these sim:fault=429@gpt-5-mini sim:fault=cut@databricks-claude-haiku-4-5")
    async with gw.make_client() as client:
        results = await asyncio.gather(
            collect(simulator, model="gpt-5-mini", messages=messages, client=client),
            collect(simulator, model="databricks-gpt-5-mini", messages=messages, client=client),
            collect(simulator, model="claude-haiku-4-5", messages=messages, client=client),
            collect(simulator, model="gemini-3-flash", messages=messages, client=client),
            return_exceptions=True,
        )

    assert [getattr(r, "code", None) for r in results[:3]] == [
        "REQUEST_LIMIT_EXCEEDED",
        "REQUEST_LIMIT_EXCEEDED",
        "stream_cut",
    ]
    assert text_of(results[3]) and Finish("stop") in results[3]


async def test_directives_count_in_any_message_and_in_text_parts(simulator):
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "be brief sim:fault=502"}]},
        {"role": "user", "content": "hi"},
    ]
    exc = await failure(simulator, messages=messages)

    assert exc.status == 502


async def test_an_unknown_fault_is_refused_with_a_clear_message(simulator):
    exc = await failure(simulator, messages=say("sim:fault=meteor"))

    assert (exc.status, exc.message) == (400, 'simulator: unknown fault "meteor"')


# --- Models, non-streaming answers, unknown paths ---------------------------------------------------------------


async def test_v1_models_has_the_openrouter_shape(simulator):
    async with httpx.AsyncClient() as client:
        response = await client.get(simulator + "/v1/models", headers={"Authorization": f"Bearer {TOKEN}"})

    body = response.json()
    assert response.status_code == 200 and body["object"] == "list"
    by_id = {item["id"]: item for item in body["data"]}
    assert len(by_id) == len(body["data"]) == len(sim.DEFAULT_MODELS)
    assert {"gpt-5-mini", "claude-sonnet-4-6", "llama-4-maverick", "kimi-k3", "gte-large-en"} <= set(by_id)
    mini = by_id["gpt-5-mini"]
    assert mini["name"] == "GPT-5 Mini" and mini["owned_by"] == "openai" and mini["enabled"] is True
    assert mini["created"] == 0 and mini["pricing"] is None and mini["context_length"] is None
    assert mini["architecture"]["input_modalities"] == ["text", "image"]
    assert by_id["claude-sonnet-4-5"]["name"] == "Claude Sonnet 4.5"
    assert by_id["gte-large-en"]["architecture"]["output_modalities"] == ["embedding"]


async def test_list_models_works_against_the_simulator(simulator):
    async with gw.make_client() as client:
        models = await gw.list_models(client, base_url=simulator, token=TOKEN)
        with pytest.raises(gw.GatewayError) as info:
            await gw.list_models(client, base_url=simulator, token="")

    assert {"id": "gpt-oss-20b", "enabled": True} in models
    assert len(models) == len(sim.DEFAULT_MODELS)
    assert info.value.status == 401


async def test_a_non_streaming_request_gets_a_chat_completion(simulator):
    body = {"model": "gpt-5-mini", "messages": say("Tell me about branching")}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            simulator + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        streamed = await collect(simulator, messages=say("Tell me about branching"))

    answer = response.json()
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["content"] == text_of(streamed)
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["total_tokens"] == 9 + CHUNKS


async def test_an_unknown_path_is_a_json_404(simulator):
    async with httpx.AsyncClient() as client:
        response = await client.post(
            simulator + "/ai-gateway/gemini/v1beta/models/gemini-3-flash:generateContent", json={}
        )

    assert response.status_code == 404
    assert "no route" in response.json()["error"]["message"]


# --- Configuration (in process) -----------------------------------------------------------------------------------


def asgi_client(app):
    return gw.make_client(transport=httpx.ASGITransport(app=app))


async def test_a_configured_token_is_the_only_one_accepted():
    app = sim.create_app(ttft_ms=0, interval_ms=0, chunks=2, token=TOKEN)
    async with asgi_client(app) as client:
        events = await collect("http://sim", client=client)
        with pytest.raises(gw.GatewayError) as info:
            await collect("http://sim", client=client, token="nt_live_someone_else")

    assert text_of(events)
    assert (info.value.status, info.value.message) == (401, "invalid or missing credential")


async def test_a_model_list_can_mark_models_as_gated():
    app = sim.create_app(ttft_ms=0, interval_ms=0, chunks=2, models=["gpt-5-mini", "!claude-opus-5"])
    async with asgi_client(app) as client:
        models = await gw.list_models(client, base_url="http://sim", token=TOKEN)
        with pytest.raises(gw.GatewayError) as gated:
            await collect("http://sim", client=client, model="claude-opus-5")
        with pytest.raises(gw.GatewayError) as unlisted:
            await collect("http://sim", client=client, model="gpt-5")

    assert models == [{"id": "gpt-5-mini", "enabled": True}, {"id": "claude-opus-5", "enabled": False}]
    assert (gated.value.status, gated.value.message) == (403, "model requires a verified account")
    assert unlisted.value.code == "invalid_model"


def test_the_environment_configures_the_module_app(monkeypatch):
    monkeypatch.setenv("SIMULATOR_TTFT_MS", "7")
    monkeypatch.setenv("SIMULATOR_INTERVAL_MS", "0")
    monkeypatch.setenv("SIMULATOR_CHUNKS", "")
    monkeypatch.setenv("SIMULATOR_TOKEN", TOKEN)
    monkeypatch.setenv("SIMULATOR_MODELS", "gpt-5-mini, !inkling ,")

    assert sim.config_from_env() == {
        "ttft_ms": 7,
        "interval_ms": 0,
        "chunks": None,
        "token": TOKEN,
        "models": ["gpt-5-mini", "!inkling"],
    }
    monkeypatch.setenv("SIMULATOR_CHUNKS", "many")
    with pytest.raises(ValueError, match="SIMULATOR_CHUNKS"):
        sim.config_from_env()


async def test_a_client_that_leaves_stops_a_hung_stream():
    app = sim.create_app(ttft_ms=0, interval_ms=0)
    body = json.dumps({"model": "gpt-5-mini", "messages": say("sim:fault=hang"), "stream": True}).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode())],
    }
    inbox = asyncio.Queue()
    inbox.put_nowait({"type": "http.request", "body": body, "more_body": False})
    sent = []

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.body":
            inbox.put_nowait({"type": "http.disconnect"})  # the client goes away after the first chunk

    # Without the disconnect the app would sleep for an hour; the cap only stops a broken test from hanging.
    await asyncio.wait_for(app(scope, inbox.get, send), timeout=10)

    assert sent[0]["status"] == 200
    assert b'"role":"assistant"' in sent[1]["body"]
    assert len(sent) == 2


def test_the_command_serves_the_simulator_with_daphne(monkeypatch, capsys):
    import daphne.server

    started = {}

    class FakeServer:
        def __init__(self, application, endpoints, **kwargs):
            started.update(application=application, endpoints=endpoints)

        def run(self):
            started["ran"] = True

    monkeypatch.setattr(daphne.server, "Server", FakeServer)
    monkeypatch.delenv("SIMULATOR_MODELS", raising=False)
    call_command("simulate_gateway", "--port", "8123", "--ttft-ms", "9", "--chunks", "5", "--token", TOKEN)

    app = started["application"]
    assert started["ran"] and started["endpoints"] == ["tcp:port=8123:interface=127.0.0.1"]
    assert (app.ttft_ms, app.interval_ms, app.chunks, app.token) == (9, 40, 5, TOKEN)
    output = capsys.readouterr().out
    assert "simulator" in output and "http://127.0.0.1:8123" in output
    assert TOKEN not in output
