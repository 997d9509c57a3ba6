"""The fault matrix: one panel of a run meets a gateway fault, in each of the three dialects.

Each fault leaves exactly one row for the failing request, a clear message in its panel, and
the other panel streams to the end. The gateway is an `httpx.MockTransport` that speaks each
dialect byte for byte, so faults the simulator cannot produce (a Retry-After date, invalid
UTF-8, an 8 MiB event, lone CR line endings, a stall after ten chunks) are exact.
"""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from gateway.client import make_client
from playground.compare import relay
from playground.compare.models import Completion
from tests.compare.test_consumer import connect, receive_until, run_frame

pytestmark = [pytest.mark.django_db(transaction=True)]

OK_MODEL = "gpt-5-mini"
# The failing panel's model in each dialect (and the run parameters that route it there).
DIALECTS = {
    "chat_completions": ("gpt-5-nano", {"max_tokens": 64}),
    "openai_responses": ("gpt-5-5-pro", {"max_tokens": 64}),
    "anthropic_messages": ("claude-sonnet-4-6", {"max_tokens": 2048, "thinking_budget": 1024}),
}
WORDS = [f"word{i} " for i in range(12)]


def events(dialect, texts, *, usage=True):
    """The SSE events of a whole answer in `dialect`, as strings without line endings."""
    if dialect == "chat_completions":
        for text in texts:
            yield "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": text}}]})
        yield "data: " + json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if usage:
            yield "data: " + json.dumps({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 12}})
        yield "data: [DONE]"
    elif dialect == "openai_responses":
        for text in texts:
            yield "event: response.output_text.delta\ndata: " + json.dumps(
                {"type": "response.output_text.delta", "delta": text}
            )
        response = {"status": "completed", **({"usage": {"input_tokens": 9, "output_tokens": 12}} if usage else {})}
        yield "event: response.completed\ndata: " + json.dumps({"type": "response.completed", "response": response})
    else:
        start = {"type": "message_start", "message": {"usage": {"input_tokens": 9} if usage else {}}}
        yield "event: message_start\ndata: " + json.dumps(start)
        for text in texts:
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}
            yield "event: content_block_delta\ndata: " + json.dumps(delta)
        end = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}
        if usage:
            end["usage"] = {"output_tokens": 12}
        yield "event: message_delta\ndata: " + json.dumps(end)
        yield "event: message_stop\ndata: " + json.dumps({"type": "message_stop"})


def sse_bytes(dialect, texts, eol="\n", **kwargs):
    return "".join(event.replace("\n", eol) + eol + eol for event in events(dialect, texts, **kwargs)).encode()


def streamed(*pieces_or_errors, headers=None):
    """A 200 event stream whose body is these byte pieces; an exception instance is raised
    where it stands (as the transport would raise it)."""

    async def body():
        for piece in pieces_or_errors:
            if isinstance(piece, BaseException):
                raise piece
            yield piece
            await asyncio.sleep(0)

    return httpx.Response(200, headers={"content-type": "text/event-stream", **(headers or {})}, content=body())


def rate_limited(headers):
    body = {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "ai gateway rate limit exceeded"}
    return httpx.Response(429, headers={"content-type": "application/json", **headers}, json=body)


def http_date(seconds):
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


def read_timeout(request):
    return httpx.ReadTimeout("timed out", request=request)


def fault_retry_after_seconds(dialect, request):
    return rate_limited({"retry-after": "30"})


def fault_retry_after_date(dialect, request):
    return rate_limited({"retry-after": http_date(120)})


def fault_retry_after_ms(dialect, request):
    return rate_limited({"retry-after-ms": "20000", "retry-after": "21"})


def fault_retry_after_600(dialect, request):
    return rate_limited({"retry-after": "600"})


def fault_invalid_utf8(dialect, request):
    raw = sse_bytes(dialect, ["caf\u00e9 ", "MARK", "done"])
    return streamed(raw.replace(b"MARK", b"\xff\xfe\xc3("))


def fault_huge_event(dialect, request):
    raw = sse_bytes(dialect, ["big:" + "x" * (8 * 1024 * 1024)])
    return streamed(*(raw[i : i + 1024] for i in range(0, len(raw), 1024)))


def fault_lone_cr(dialect, request):
    return streamed(sse_bytes(dialect, WORDS, eol="\r"))


def fault_stall_after_ten(dialect, request):
    whole = list(events(dialect, WORDS))
    first = whole[:11] if dialect == "anthropic_messages" else whole[:10]  # message_start, then ten chunks
    return streamed(*(f"{e}\n\n".encode() for e in first), read_timeout(request))


def fault_accepted_then_timeout(dialect, request):
    return streamed(read_timeout(request))


def fault_accepted_then_cut(dialect, request):
    return streamed(httpx.RemoteProtocolError("peer closed connection", request=request))


def fault_refused_401(dialect, request):
    body = {"error": {"code": "UNAUTHENTICATED", "message": "invalid or missing credential"}}
    return httpx.Response(401, json=body)


@pytest.fixture
def gateway(monkeypatch):
    """Route the relay through a MockTransport: OK_MODEL answers normally, the other model
    gets `gateway.fault(dialect, request)`. Returns a holder to set the fault on."""

    class Gateway:
        fault = None
        requests = []

    def handler(request):
        body = json.loads(request.content)
        Gateway.requests.append(body["model"])
        path = request.url.path
        dialect = (
            "openai_responses"
            if path.endswith("/responses")
            else "anthropic_messages"
            if path.endswith("/messages")
            else "chat_completions"
        )
        if body["model"] == OK_MODEL:
            return streamed(sse_bytes(dialect, WORDS))
        return Gateway.fault(dialect, request)

    def client():
        return make_client(transport=httpx.MockTransport(handler))

    monkeypatch.setattr(relay, "gateway_client", client)
    return Gateway


async def run_with_fault(alice, branch, gateway, dialect, fault):
    model, params = DIALECTS[dialect]
    gateway.fault = staticmethod(fault)
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, [OK_MODEL, model], "hello", **params))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done", wait=30)
    await comm.disconnect()
    started = frames[0]
    codes = {c["model"]: c["id"] for c in started["completions"]}
    ends = {f["completion"]: f for f in frames if f["type"] in ("completion.done", "completion.error")}
    text = "".join(f.get("text", "") for f in frames if f["type"] == "delta" and f["completion"] == codes[model])
    # The other panel is unaffected: its whole answer, ok.
    ok = ends[codes[OK_MODEL]]
    assert ok["type"] == "completion.done" and ok["status"] == "ok"
    ok_text = "".join(f.get("text", "") for f in frames if f["type"] == "delta" and f["completion"] == codes[OK_MODEL])
    assert ok_text == "".join(WORDS)
    # Exactly one row per request.
    rows = await sync_to_async(list)(Completion.objects.filter(model=model))
    assert len(rows) == 1
    assert await Completion.objects.acount() == 2
    return ends[codes[model]], rows[0], text, frames


RETRY_FAULTS = [
    (fault_retry_after_seconds, 30.0),
    (fault_retry_after_ms, 20.0),
    (fault_retry_after_600, 600.0),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("fault", "seconds"), RETRY_FAULTS, ids=["seconds", "ms", "600s"])
async def test_a_retry_after_is_carried_to_the_panel_without_an_automatic_retry(
    alice, branch, gateway, dialect, fault, seconds
):
    end, row, _, frames = await run_with_fault(alice, branch, gateway, dialect, fault)
    assert end["type"] == "completion.error" and end["status"] == 429
    assert "rate limit" in end["message"]
    assert end["retry_after"] == seconds  # the panel counts down from it
    assert not [f for f in frames if f["type"] == "completion.notice"]
    assert gateway.requests.count(DIALECTS[dialect][0]) == 1  # no automatic retry
    assert (row.status, row.http_status, row.retry_after, row.cost_source) == ("error", 429, seconds, "not_billed")


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_a_retry_after_http_date_becomes_seconds_from_now(alice, branch, gateway, dialect):
    end, row, _, _ = await run_with_fault(alice, branch, gateway, dialect, fault_retry_after_date)
    assert end["status"] == 429
    # Two minutes from when the gateway answered, a little less by the time it is parsed.
    assert 60 < end["retry_after"] <= 120
    assert row.retry_after == end["retry_after"]


@override_settings(GATEWAY_RETRY_AFTER_MAX=30.0)
async def test_a_short_retry_after_ms_is_retried_once_politely(alice, branch, gateway):
    def fault(dialect, request):
        return rate_limited({"retry-after-ms": "50", "retry-after": "25"})

    end, row, _, frames = await run_with_fault(alice, branch, gateway, "chat_completions", fault)
    notices = [f for f in frames if f["type"] == "completion.notice"]
    assert len(notices) == 1 and "0.05 s" in notices[0]["message"]
    assert gateway.requests.count("gpt-5-nano") == 2
    assert end["type"] == "completion.error" and row.retry_after == 0.05


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_invalid_utf8_in_a_chunk_is_shown_replaced_and_the_answer_completes(alice, branch, gateway, dialect):
    end, row, text, _ = await run_with_fault(alice, branch, gateway, dialect, fault_invalid_utf8)
    assert end["type"] == "completion.done" and end["status"] == "ok"
    assert text.startswith("caf\u00e9 ") and text.endswith("done")
    assert "\ufffd" in text
    assert row.output_text == text and row.status == "ok"


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_an_8_mib_event_in_1_kib_pieces_arrives_whole(alice, branch, gateway, dialect):
    end, row, text, _ = await run_with_fault(alice, branch, gateway, dialect, fault_huge_event)
    assert end["type"] == "completion.done" and end["status"] == "ok"
    assert len(text) == 4 + 8 * 1024 * 1024 and text.startswith("big:x")
    assert len(row.output_text) == len(text)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_lone_cr_line_endings_are_line_endings(alice, branch, gateway, dialect):
    end, row, text, _ = await run_with_fault(alice, branch, gateway, dialect, fault_lone_cr)
    assert end["type"] == "completion.done" and end["status"] == "ok"
    assert text == "".join(WORDS)
    assert row.cost_source == "computed"


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_a_stall_past_the_read_timeout_after_ten_chunks_keeps_the_ten(alice, branch, gateway, dialect):
    end, row, text, _ = await run_with_fault(alice, branch, gateway, dialect, fault_stall_after_ten)
    assert end["type"] == "completion.error" and end["code"] == "read_timeout"
    assert "read timeout" in end["message"]
    assert text == "".join(WORDS[:10])
    assert end["partial_text"] == text
    assert (row.status, row.output_text) == ("error", text)
    # Anthropic sent the input tokens in message_start: only the output is estimated there.
    assert row.cost_source == ("partly_estimated" if dialect == "anthropic_messages" else "estimated")


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("fault", [fault_accepted_then_timeout, fault_accepted_then_cut], ids=["timeout", "cut"])
async def test_accepted_then_nothing_is_estimated_not_free(alice, branch, gateway, dialect, fault):
    end, row, text, frames = await run_with_fault(alice, branch, gateway, dialect, fault)
    assert text == ""
    assert end["type"] == "completion.error" and end["message"]
    # The gateway accepted the request (HTTP 200): the prompt was most probably billed.
    assert row.http_status == 200
    assert row.cost_source == "estimated" and row.cost is not None and row.cost > 0
    assert row.prompt_tokens is None  # counts stay as the gateway reported them: none
    assert end["cost_source"] == "estimated"
    assert frames[-1]["cost_complete"] is True


async def test_a_refused_panel_costs_nothing_and_the_run_total_is_complete(alice, branch, gateway):
    end, row, _, frames = await run_with_fault(alice, branch, gateway, "chat_completions", fault_refused_401)
    assert end["status"] == 401 and "invalid or missing credential" in end["message"]
    assert row.cost_source == "not_billed" and row.cost is None
    done = frames[-1]
    assert done["cost_complete"] is True
    ok_cost = next(f["cost"] for f in frames if f["type"] == "completion.done")
    assert done["cost"] == ok_cost


# --- The simulator's faults, in each dialect ----------------------------------------------------------------------

SIMULATED = [
    # fault, HTTP status of the error frame (None: not checked), words its message contains
    ("401", 401, "invalid or missing credential"),
    ("403-scope", 403, "not authorized"),
    ("403-branch", 403, "not authorized for this branch"),
    ("403-verified", 403, "verified account"),
    ("400", 400, ""),
    ("413", 413, ""),
    ("429", 429, "rate limit"),
    ("429-short", 429, ""),
    ("500", 500, ""),
    ("502", 502, "upstream request failed"),
    ("503", 503, "temporarily unavailable"),
    ("cut", None, ""),
    ("malformed", None, ""),
    ("error-event", None, ""),
    ("hang", None, "read timeout"),
    ("no-usage", None, ""),
]


@override_settings(GATEWAY_READ_TIMEOUT=1.0)
@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("fault", "status", "words"), SIMULATED, ids=[f[0] for f in SIMULATED])
async def test_every_simulator_fault_in_every_dialect(alice, branch, dialect, fault, status, words):
    model, params = DIALECTS[dialect]
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, [OK_MODEL, model], f"sim:fault={fault}@{model} hi", **params))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done", wait=30)
    await comm.disconnect()
    codes = {c["model"]: c["id"] for c in frames[0]["completions"]}
    ends = {f["completion"]: f for f in frames if f["type"] in ("completion.done", "completion.error")}
    assert ends[codes[OK_MODEL]]["type"] == "completion.done" and ends[codes[OK_MODEL]]["status"] == "ok"
    end = ends[codes[model]]
    rows = await sync_to_async(list)(Completion.objects.filter(model=model))
    assert len(rows) == 1 and await Completion.objects.acount() == 2
    row = rows[0]
    if fault == "no-usage":
        # Not an error: the answer is whole, its cost estimated from the text.
        assert end["type"] == "completion.done" and row.cost_source in ("estimated", "partly_estimated")
        return
    assert end["type"] == "completion.error" and end["message"]
    assert words.lower() in end["message"].lower()
    if status is not None:
        assert end["status"] == status == row.http_status
    assert (row.status, row.error_message) == ("error", end["message"])
