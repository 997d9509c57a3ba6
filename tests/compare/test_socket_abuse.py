"""The Compare socket under abuse: bad frames of any shape, failures on any path, floods,
oversized frames and a client that stops reading. Streams never outlive the socket."""

import json
import logging

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from playground.compare import consumers, runs
from playground.compare.consumers import (
    CLOSE_FLOOD,
    CLOSE_NOT_READING,
    CLOSE_SERVER_ERROR,
    CLOSE_TOO_LARGE,
    CompareConsumer,
)
from playground.compare.models import Completion
from tests.compare.test_consumer import connect, receive_until, run_frame

pytestmark = [pytest.mark.django_db(transaction=True)]

SLOW = "sim:interval_ms=100 sim:chunks=600 tell me a story"


async def until_closed(comm, wait=10):
    """Frames the server sent before it closed the socket, and the close message."""
    frames = []
    while True:
        out = await comm.receive_output(timeout=wait)
        if out["type"] == "websocket.close":
            return frames, out
        frames.append(json.loads(out["text"]))


async def assert_still_open(comm):
    """The socket answers a ping (the text of a run still streaming may come before the pong)."""
    await comm.send_json_to({"type": "ping"})
    frames = await receive_until(comm, lambda f: f["type"] != "delta", wait=5)
    assert frames[-1] == {"type": "pong"}


async def rows():
    return await sync_to_async(list)(Completion.objects.order_by("model"))


async def start_slow_run(comm, branch, models=("gpt-5-mini", "gpt-5-nano")):
    await comm.send_json_to(run_frame(branch, list(models), SLOW))
    started = await comm.receive_json_from(timeout=5)
    assert started["type"] == "run.started"
    await receive_until(comm, lambda f: f["type"] == "delta")
    return started


DEEP = 100_000
BAD_FRAMES = [
    "[" * DEEP + "]" * DEEP,
    '{"a":' * 80_000 + "1" + "}" * 80_000,
    json.dumps({"type": "run", "params": {"x": 1}})[:-1] + ', "deep": ' + "[" * DEEP + "]" * DEEP + "}",
    "1" * 5000,
    "null",
    "true",
    '"run"',
    "\x00",
]
# Every field of every frame with a value of the wrong type or out of range.
WRONG = [[], {}, None, True, 1, -1, 1.5, 10**4000, -(10**4000), "x" * 10_000, [[[[]]]], {"a": {"b": []}}]

# Wrong for every parameter (a null parameter is valid: "not set").
WRONG_PARAM = [[], {}, True, 10**4000, -(10**4000), "x" * 10_000, [[[[]]]], {"a": {"b": []}}]


def is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def wrong_frames(branch):
    good = run_frame(branch, ["gpt-5-mini"])
    frames = []
    for value in WRONG:
        frames.append({"type": value})
        for field in ("branch", "models", "messages", "params"):
            if not (field == "params" and value in (None, {})):  # no parameters: valid
                frames.append({**good, field: value})
        frames.append({**good, "models": [value]})
        frames.append({**good, "messages": [value]})
        frames.append({**good, "messages": [{"role": value, "content": "hi"}]})
        if not isinstance(value, str):  # any text is a valid content
            frames.append({**good, "messages": [{"role": "user", "content": value}]})
        if isinstance(value, str):
            frames.append({**good, "params": {value: 1}})
        if not isinstance(value, str):  # stopping an unknown (or just ended) run says nothing
            frames.append({"type": "stop", "run": value})
            frames.append({"type": "stop", "completion": value})
    for value in WRONG_PARAM:
        for param in ("temperature", "max_tokens", "seed", "top_p", "thinking_budget", "reasoning_effort"):
            frames.append({**good, "params": {param: value}})
    return [json.dumps(f) for f in frames] + [
        # Numbers json accepts that no parameter can hold.
        json.dumps(good)[:-1].replace('"max_tokens": 64', '"temperature": 1e999'),
        json.dumps(good).replace('"max_tokens": 64', '"temperature": Infinity'),
        json.dumps(good).replace('"max_tokens": 64', '"max_tokens": NaN'),
        json.dumps(good).replace('"max_tokens": 64', '"max_tokens": -1e999'),
    ]


@override_settings(WS_MAX_FRAMES_PER_SECOND=100_000)
async def test_bad_json_of_any_shape_gets_an_error_and_the_streams_run_on(alice, branch):
    comm, _ = await connect(alice)
    started = await start_slow_run(comm, branch, ["gpt-5-mini"])
    payloads = (
        BAD_FRAMES + wrong_frames(branch) + [json.dumps({"type": "ack", "frames": v}) for v in WRONG if not is_count(v)]
    )
    for payload in payloads:
        await comm.send_to(text_data=payload)
        frame = await receive_until(comm, lambda f: f["type"] != "delta")
        assert frame[-1]["type"] == "error", payload[:200]
        assert frame[-1]["message"]
    await assert_still_open(comm)
    await comm.send_json_to({"type": "stop", "run": started["run"]})
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    assert [f["status"] for f in frames if f["type"] == "completion.done"] == ["cancelled"]
    await comm.disconnect()
    assert [r.status for r in await rows()] == ["cancelled"]


async def test_a_failure_while_handling_a_frame_is_an_error_frame_not_a_dead_socket(alice, branch, monkeypatch):
    def broken(frame):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(consumers, "parse_run_frame", broken)
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    reply = await comm.receive_json_from(timeout=5)
    assert reply["type"] == "error" and "could not handle" in reply["message"]
    await assert_still_open(comm)
    await comm.disconnect()


async def test_a_run_that_fails_to_start_says_so_and_frees_its_slot(alice, branch, monkeypatch):
    async def broken(user, request):
        raise RuntimeError("database is down")

    real = runs.prepare_run
    monkeypatch.setattr(runs, "prepare_run", broken)
    comm, _ = await connect(alice)
    with override_settings(RUN_MAX_CONCURRENT_PER_USER=1):
        await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
        reply = await comm.receive_json_from(timeout=5)
        assert reply["type"] == "error" and "failed on the server" in reply["message"]
        monkeypatch.setattr(runs, "prepare_run", real)
        await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
        frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    assert any(f["type"] == "completion.done" for f in frames)
    await comm.disconnect()


async def test_a_failure_outside_any_handler_stops_every_stream_and_writes_every_row(alice, branch, monkeypatch):
    comm, _ = await connect(alice)
    await start_slow_run(comm, branch)

    async def broken(self, text_data=None, bytes_data=None, **kwargs):
        raise RuntimeError("the consumer itself broke")

    monkeypatch.setattr(CompareConsumer, "receive", broken)
    await comm.send_json_to({"type": "ping"})
    frames, close = await until_closed(comm)
    assert close["code"] == CLOSE_SERVER_ERROR
    assert frames[-1]["type"] == "error" and frames[-1]["close"] == CLOSE_SERVER_ERROR
    # Before the close went out, both streams were cancelled and their rows written.
    logged = await rows()
    assert [r.status for r in logged] == ["cancelled", "cancelled"]
    assert all(r.finished is not None for r in logged)
    assert any(r.output_text for r in logged)
    await comm.wait()


async def test_a_ping_flood_is_cut_with_a_close_code_and_its_runs_are_logged(alice, branch, caplog):
    caplog.set_level(logging.WARNING)
    comm, _ = await connect(alice)
    await start_slow_run(comm, branch)
    flood = 2000
    for _ in range(flood):
        await comm.send_to(text_data='{"type": "ping"}')
    frames, close = await until_closed(comm)
    assert close["code"] == CLOSE_FLOOD
    assert "frames a second" in close["reason"]
    assert sum(f["type"] == "pong" for f in frames) < flood
    assert [r.status for r in await rows()] == ["cancelled", "cancelled"]
    assert "closing compare socket" in caplog.text and "4008" in caplog.text
    await comm.disconnect()


@pytest.mark.parametrize("text", ["x" * (512 * 1024), "é" * (256 * 1024)])
async def test_a_frame_over_the_size_limit_gets_a_close_code_and_a_reason(alice, branch, text):
    comm, _ = await connect(alice)
    frame = json.dumps({**run_frame(branch, ["gpt-5-mini"], text)}, ensure_ascii=False)
    await comm.send_to(text_data=frame)
    frames, close = await until_closed(comm)
    assert close["code"] == CLOSE_TOO_LARGE
    assert "512 KiB" in close["reason"]
    assert frames == [{"type": "error", "message": close["reason"], "close": CLOSE_TOO_LARGE}]
    assert await Completion.objects.acount() == 0
    await comm.disconnect()


async def test_a_frame_just_under_the_size_limit_is_read(alice, branch):
    comm, _ = await connect(alice)
    frame = json.dumps({"type": "ping", "pad": "x" * (512 * 1024 - 40)})
    assert len(frame) <= 512 * 1024
    await comm.send_to(text_data=frame)
    assert (await comm.receive_json_from(timeout=5)) == {"type": "pong"}
    await comm.disconnect()


@override_settings(WS_MAX_UNACKED_FRAMES=20)
async def test_a_client_that_stops_reading_is_closed_and_its_runs_stopped(alice, branch, caplog):
    caplog.set_level(logging.WARNING)
    comm, _ = await connect(alice)
    # It acks once, then reads nothing more: deltas merge, control frames (pongs) pile up.
    await comm.send_json_to({"type": "ack", "frames": 0})
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "gpt-5-nano"], SLOW))
    # Once the run has started (frames are taken off the socket, never acknowledged):
    # a flood before that stops the run before it sends any request, and leaves no rows.
    assert (await comm.receive_json_from(timeout=5))["type"] == "run.started"
    for _ in range(30):
        await comm.send_json_to({"type": "ping"})
    frames, close = await until_closed(comm)
    assert close["code"] == CLOSE_NOT_READING
    assert "not acknowledged" in close["reason"]
    assert [r.status for r in await rows()] == ["cancelled", "cancelled"]
    assert "4013" in caplog.text
    await comm.disconnect()


@override_settings(WS_MAX_UNACKED_FRAMES=20)
async def test_a_client_that_never_acks_is_closed_past_the_bound(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"], SLOW))
    frames, close = await until_closed(comm)
    assert close["code"] == CLOSE_NOT_READING
    # What it was sent before the bound: at most the bound, then the reason.
    assert len(frames) <= 21 and frames[-1]["close"] == CLOSE_NOT_READING
    assert [r.status for r in await rows()] == ["cancelled"]
    await comm.disconnect()


@override_settings(WS_MAX_UNACKED_FRAMES=64, WS_MAX_FRAMES_PER_SECOND=1)
async def test_a_client_that_acks_what_it_reads_streams_a_long_answer_to_the_end(alice, branch):
    comm, _ = await connect(alice)
    # Far more acks than a budget of one frame a second: acks of new frames are free.
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"], "sim:interval_ms=5 sim:chunks=300 hi"))
    received = 0
    while True:
        frame = await comm.receive_json_from(timeout=10)
        received += 1
        await comm.send_json_to({"type": "ack", "frames": received})
        if frame["type"] == "run.done":
            break
    assert received > 10
    assert [r.status for r in await rows()] == ["ok"]
    await comm.disconnect()
