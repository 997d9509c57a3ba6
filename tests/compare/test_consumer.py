"""The Compare websocket, driven through the real ASGI application."""

import json
import logging
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from playground.asgi import application
from playground.compare.models import Completion, Run
from tests.conftest import TOKEN

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://testserver")


async def session_cookie_for(client_user):
    from django.test import Client

    def login():
        c = Client()
        c.force_login(client_user)
        return c.cookies["sessionid"].value

    return await sync_to_async(login)()


async def connect(user, origin=ORIGIN):
    headers = [origin] if origin else []
    if user is not None:
        cookie = await session_cookie_for(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/compare/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def receive_until(comm, predicate, wait=10):
    """Frames up to and including the first that satisfies predicate. A `deltas` frame (the
    text of several panels at once) is read as one `delta` frame per panel."""
    frames = []
    while True:
        for frame in expand(await comm.receive_json_from(timeout=wait)):
            frames.append(frame)
            if predicate(frame):
                return frames


def expand(frame):
    """[frame], or a `deltas` frame as the `delta` frames it stands for."""
    if frame.get("type") == "deltas":
        return [{"type": "delta", **piece} for piece in frame["deltas"]]
    return [frame]


def run_frame(branch, models, content="Say hello", **params):
    return {
        "type": "run",
        "branch": str(branch.code),
        "models": models,
        "messages": [{"role": "user", "content": content}],
        "params": params or {"max_tokens": 64},
    }


def texts(frames):
    out = {}
    for f in frames:
        if f["type"] == "delta":
            out[f["completion"]] = out.get(f["completion"], "") + f.get("text", "")
    return out


async def test_it_streams_two_models_and_logs_both(alice, branch):
    comm, connected = await connect(alice)
    assert connected
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "claude-haiku-4-5"]))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    started = frames[0]
    assert started["type"] == "run.started"
    codes = {c["model"]: c["id"] for c in started["completions"]}
    assert set(codes) == {"gpt-5-mini", "claude-haiku-4-5"}

    dones = {f["completion"]: f for f in frames if f["type"] == "completion.done"}
    assert set(dones) == set(codes.values())
    streamed = texts(frames)
    for code, done in dones.items():
        assert done["status"] == "ok"
        assert done["finish_reason"] in ("stop", "length")
        assert done["usage"]["prompt_tokens"] > 0
        assert done["usage"]["completion_tokens"] > 0
        assert done["cost_source"] == "computed"
        assert float(done["cost"]) > 0
        assert done["ttft_ms"] is not None and done["latency_ms"] >= done["ttft_ms"]
        assert done["html"].startswith("<")
        # Every delta of a panel arrives before its end.
        last_delta = max(i for i, f in enumerate(frames) if f.get("completion") == code and f["type"] == "delta")
        assert last_delta < frames.index(done)
        assert streamed[code]

    rows = await sync_to_async(list)(Completion.objects.order_by("model"))
    assert [r.model for r in rows] == ["claude-haiku-4-5", "gpt-5-mini"]
    for row in rows:
        assert row.status == "ok"
        assert row.output_text == streamed[str(row.code)]
        assert row.prompt_tokens and row.completion_tokens
        assert row.cost == Decimal(dones[str(row.code)]["cost"])
        assert row.price["input"] is not None
    run_done = frames[-1]
    assert run_done["run"] == started["run"]
    assert Decimal(run_done["cost"]) == sum(Decimal(d["cost"]) for d in dones.values())
    await comm.disconnect()


async def test_each_panels_first_text_is_marked_for_the_writer_to_send_at_once(alice, branch, monkeypatch):
    from playground.compare.relay import Outbox

    calls = []
    delta = Outbox.delta

    def recording(self, code, text=None, reasoning=None, first=False):
        calls.append((code, first))
        return delta(self, code, text, reasoning, first)

    monkeypatch.setattr(Outbox, "delta", recording)
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "claude-haiku-4-5"]))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    codes = {c["id"] for c in frames[0]["completions"]}
    assert {code for code, _ in calls} == codes
    for code in codes:
        flags = [first for c, first in calls if c == code]
        assert len(flags) > 1
        assert flags[0] is True and not any(flags[1:])


async def test_stop_ends_the_run_at_once_and_keeps_partial_text(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(
        run_frame(branch, ["gpt-5-mini", "gemini-2-5-flash"], "sim:interval_ms=200 sim:chunks=50 tell me a story")
    )
    started = await comm.receive_json_from(timeout=5)
    first = await comm.receive_json_from(timeout=5)
    assert first["type"] in ("delta", "deltas")
    await comm.send_json_to({"type": "stop", "run": started["run"]})
    frames = await receive_until(comm, lambda f: f["type"] == "run.done", wait=5)
    # 50 chunks 200 ms apart: the stop ended both streams before their answers were whole.
    assert len([f for f in frames if f["type"] == "delta"]) < 10
    dones = [f for f in frames if f["type"] == "completion.done"]
    assert {d["status"] for d in dones} == {"cancelled"}
    rows = await sync_to_async(list)(Completion.objects.all())
    assert {r.status for r in rows} == {"cancelled"}
    assert any(r.output_text for r in rows)
    for row in rows:
        # No usage arrived: the counts stay null (never 0) and the cost is an estimate.
        assert row.completion_tokens is None
        assert row.cost_source == "estimated"
        assert row.cost is not None and row.cost > 0
    await comm.disconnect()


async def test_a_second_stop_while_a_panel_ends_loses_neither_its_row_nor_its_end(alice, branch):
    # Esc on the page stops the run and then every panel: the second stop reaches each stream
    # while it writes its row.
    comm, _ = await connect(alice)
    await comm.send_json_to(
        run_frame(branch, ["gpt-5-mini", "gemini-2-5-flash"], "sim:interval_ms=200 sim:chunks=50 tell me a story")
    )
    started = await comm.receive_json_from(timeout=5)
    assert (await comm.receive_json_from(timeout=5))["type"] in ("delta", "deltas")
    await comm.send_json_to({"type": "stop", "run": started["run"]})
    for completion in started["completions"]:
        await comm.send_json_to({"type": "stop", "completion": completion["id"]})
    frames = await receive_until(comm, lambda f: f["type"] == "run.done", wait=10)
    dones = {f["completion"]: f for f in frames if f["type"] == "completion.done"}
    assert set(dones) == {c["id"] for c in started["completions"]}
    assert {d["status"] for d in dones.values()} == {"cancelled"}
    rows = await sync_to_async(list)(Completion.objects.all())
    assert len(rows) == 2
    assert {r.status for r in rows} == {"cancelled"}
    await comm.disconnect()


async def test_a_disconnect_right_after_a_stop_still_writes_every_row(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(
        run_frame(branch, ["gpt-5-mini", "gemini-2-5-flash"], "sim:interval_ms=200 sim:chunks=50 tell me a story")
    )
    started = await comm.receive_json_from(timeout=5)
    assert (await comm.receive_json_from(timeout=5))["type"] in ("delta", "deltas")
    await comm.send_json_to({"type": "stop", "run": started["run"]})
    await comm.disconnect()
    rows = await sync_to_async(list)(Completion.objects.all())
    assert len(rows) == 2
    assert {r.status for r in rows} == {"cancelled"}
    assert any(r.output_text for r in rows)


async def test_stopping_one_panel_lets_the_other_finish(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "gpt-5-nano"], "sim:interval_ms=60 sim:chunks=20 hi"))
    started = await comm.receive_json_from(timeout=5)
    by_model = {c["model"]: c["id"] for c in started["completions"]}
    await comm.send_json_to({"type": "stop", "completion": by_model["gpt-5-nano"]})
    frames = await receive_until(comm, lambda f: f["type"] == "run.done", wait=10)
    status = {f["completion"]: f["status"] for f in frames if f["type"] == "completion.done"}
    assert status[by_model["gpt-5-nano"]] == "cancelled"
    assert status[by_model["gpt-5-mini"]] == "ok"
    await comm.disconnect()


async def test_disconnect_mid_stream_cancels_and_logs_every_request(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "gpt-5-nano"], "sim:interval_ms=200 sim:chunks=50 hi"))
    await comm.receive_json_from(timeout=5)
    await comm.receive_json_from(timeout=5)
    await comm.disconnect()
    rows = await sync_to_async(list)(Completion.objects.all())
    assert len(rows) == 2
    assert {r.status for r in rows} == {"cancelled"}
    assert all(r.finished is not None for r in rows)


FAULTS = [
    ("401", 401, "invalid or missing credential"),
    ("403-branch", 403, "credential not authorized for this branch"),
    ("403-verified", 403, "model requires a verified account"),
    ("429", 429, "rate limit"),
    ("500", 500, ""),
    ("502", 502, "upstream request failed"),
    ("503", 503, "authorization temporarily unavailable"),
    ("cut", None, ""),
    ("malformed", None, ""),
    ("error-event", None, ""),
]


@pytest.mark.parametrize(("fault", "status", "text"), FAULTS)
async def test_a_fault_in_one_panel_leaves_the_other_running(alice, branch, fault, status, text):
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "gpt-5-nano"], f"sim:fault={fault}@gpt-5-nano hi"))
    started = await comm.receive_json_from(timeout=5)
    by_model = {c["model"]: c["id"] for c in started["completions"]}
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    errors = [f for f in frames if f["type"] == "completion.error"]
    dones = [f for f in frames if f["type"] == "completion.done"]
    assert [e["completion"] for e in errors] == [by_model["gpt-5-nano"]]
    assert [d["completion"] for d in dones] == [by_model["gpt-5-mini"]]
    error = errors[0]
    if status is not None:
        assert error["status"] == status
    assert error["message"]
    assert text.lower() in error["message"].lower()
    if fault == "429":
        assert error["retry_after"] == 7
    row = await Completion.objects.aget(code=by_model["gpt-5-nano"])
    assert row.status == "error"
    assert row.http_status == error["status"] or status is None
    assert row.error_message == error["message"]
    if fault == "429":
        assert row.rate_limit.get("retry-after") == "7"
    await comm.disconnect()


async def test_unknown_model_is_a_panel_error(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["no-such-model-9"]))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    error = next(f for f in frames if f["type"] == "completion.error")
    assert error["status"] == 400
    assert "unknown model" in error["message"]
    row = await Completion.objects.aget()
    # Refused before any output: nothing billed, and the row says so (not a silent 0).
    assert row.cost_source == "not_billed"
    assert row.cost is None
    await comm.disconnect()


@override_settings(GATEWAY_RETRY_AFTER_MAX=2.0)
async def test_a_short_retry_after_is_retried_once_politely(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"], "sim:fault=429-short hi"))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    notices = [f for f in frames if f["type"] == "completion.notice"]
    assert len(notices) == 1
    # The simulator fails every attempt with this directive: one retry, then the error.
    assert [f["type"] for f in frames if f["type"].startswith("completion.")][-1] == "completion.error"
    assert await Completion.objects.acount() == 1
    await comm.disconnect()


async def test_connection_refused_is_a_clear_panel_error(alice, team, settings):
    from playground.teams.models import Branch
    from tests.conftest import free_port

    port = free_port()
    settings.GATEWAY_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]

    def make():
        b = Branch(team=team, name="Dead", base_url=f"http://127.0.0.1:{port}", created_by=alice)
        b.set_token(TOKEN)
        b.save()
        return b

    dead = await sync_to_async(make)()
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(dead, ["gpt-5-mini"]))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    error = next(f for f in frames if f["type"] == "completion.error")
    assert error["status"] is None
    assert error["code"] == "connection_error"
    row = await Completion.objects.aget()
    assert row.status == "error" and row.error_code == "connection_error"
    await comm.disconnect()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"type": "fly"}), "Unknown frame type"),
        (json.dumps({"type": "run", "branch": "x", "models": [], "messages": []}), "at least one model"),
        (json.dumps({"type": "run", "branch": "x", "models": ["a"] * 9, "messages": []}), "at most 8"),
        (json.dumps({"type": "stop"}), "stop needs"),
    ],
)
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_open(alice, branch, payload, message):
    comm, _ = await connect(alice)
    await comm.send_to(text_data=payload)
    frame = await comm.receive_json_from(timeout=5)
    assert frame["type"] == "error"
    assert message in frame["message"]
    await comm.send_json_to({"type": "ping"})
    assert (await comm.receive_json_from(timeout=5))["type"] == "pong"
    await comm.disconnect()


async def test_bad_params_and_messages_are_refused(alice, branch):
    comm, _ = await connect(alice)
    bad = [
        {**run_frame(branch, ["gpt-5-mini"]), "params": {"temperature": 9}},
        {**run_frame(branch, ["gpt-5-mini"]), "params": {"evil": 1}},
        {**run_frame(branch, ["gpt-5-mini"]), "messages": [{"role": "tool", "content": "x"}]},
        {**run_frame(branch, ["gpt-5-mini"]), "branch": "00000000-0000-0000-0000-000000000000"},
    ]
    for frame in bad:
        await comm.send_json_to(frame)
        reply = await comm.receive_json_from(timeout=5)
        assert reply["type"] == "error", frame
    assert await Run.objects.acount() == 0
    await comm.disconnect()


async def test_an_anonymous_socket_is_refused():
    comm, connected = await connect(None)
    assert not connected


async def test_a_foreign_origin_is_refused(alice):
    comm, connected = await connect(alice, origin=(b"origin", b"http://evil.example"))
    assert not connected


async def test_an_outsider_cannot_run_on_alices_branch(charlie, branch):
    comm, connected = await connect(charlie)
    assert connected
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    reply = await comm.receive_json_from(timeout=5)
    assert reply == {"type": "error", "message": "No such branch."}
    assert await Run.objects.acount() == 0
    await comm.disconnect()


async def test_a_viewer_cannot_run(django_user_model, team, branch):
    from playground.teams.models import Membership

    def make_viewer():
        viewer = django_user_model.objects.create_user("vera", "v@example.com", "pw")
        Membership.objects.create(user=viewer, team=team, role=Membership.Role.VIEWER)
        return viewer

    viewer = await sync_to_async(make_viewer)()
    comm, _ = await connect(viewer)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    reply = await comm.receive_json_from(timeout=5)
    assert reply["type"] == "error" and "Viewers" in reply["message"]
    await comm.disconnect()


async def test_a_teammate_can_run_on_the_team_branch(bob, branch):
    comm, _ = await connect(bob)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    assert any(f["type"] == "completion.done" for f in frames)
    await comm.disconnect()


async def test_the_token_never_reaches_a_frame_or_a_log(alice, branch, caplog):
    caplog.set_level(logging.DEBUG)
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "gpt-5-nano"], "sim:fault=401@gpt-5-nano hi"))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    assert TOKEN not in json.dumps(frames)
    assert TOKEN[-12:] not in json.dumps(frames)
    assert TOKEN not in caplog.text
    rows = await sync_to_async(list)(Completion.objects.values())
    assert TOKEN not in str(rows)


async def test_parameters_a_model_refuses_are_left_out_with_a_note(alice, branch):
    comm, _ = await connect(alice)
    # GPT-5 models refuse temperature (a hard 400 upstream): it is dropped for that panel only.
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "gpt-oss-20b"], temperature=0.5, max_tokens=32))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    started = frames[0]
    notes = {c["model"]: c["notes"] for c in started["completions"]}
    assert any("temperature" in n for n in notes["gpt-5-mini"])
    assert notes["gpt-oss-20b"] == []
    assert not [f for f in frames if f["type"] == "completion.error"]
    await comm.disconnect()


async def test_a_team_price_override_is_charged_and_stored_on_the_row(alice, branch, team):
    from playground.teams.models import TeamModelPrice

    await TeamModelPrice.objects.acreate(
        team=team, model_id="gpt-5-mini", input=Decimal("1"), output=Decimal("2"), note="negotiated"
    )
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    done = next(f for f in frames if f["type"] == "completion.done")
    row = await Completion.objects.aget()
    assert row.price["override"] is True
    assert row.price["source"] == "team override: negotiated"
    # Worked by hand: prompt tokens at $1 per 1M and completion tokens at $2 per 1M.
    expected = (Decimal(row.prompt_tokens) * 1 + Decimal(row.completion_tokens) * 2) / Decimal(1_000_000)
    assert row.cost == expected
    assert Decimal(done["cost"]) == expected


async def test_a_stopped_stream_estimates_its_thinking_as_output(alice, branch):
    from gateway.pricing import estimate_tokens

    comm, _ = await connect(alice)
    # gpt-oss sends a reasoning part first (the content-array shape), then text.
    await comm.send_json_to(run_frame(branch, ["gpt-oss-120b"], "sim:interval_ms=150 sim:chunks=40 think"))
    started = await comm.receive_json_from(timeout=5)
    frames = await receive_until(comm, lambda f: f["type"] == "delta" and f.get("text"))
    assert any(f.get("reasoning") for f in frames)
    await comm.send_json_to({"type": "stop", "run": started["run"]})
    await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    row = await Completion.objects.aget()
    assert row.cost_source == "estimated" and row.reasoning_text
    output = next(line for line in row.cost_lines if line["bucket"] == "output")
    assert output["tokens"] == estimate_tokens(row.output_text + row.reasoning_text)


async def test_a_model_the_branch_lists_as_disabled_gets_a_note(alice, branch):
    branch.model_ids = ["gpt-5-mini", "claude-opus-4-7"]
    branch.models_enabled = {"gpt-5-mini": True, "claude-opus-4-7": False}
    await branch.asave(update_fields=["model_ids", "models_enabled"])
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "claude-opus-4-7", "gpt-5-nano"]))
    started = await comm.receive_json_from(timeout=5)
    await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    notes = {c["model"]: c["notes"] for c in started["completions"]}
    assert not any("Simulator" in n for n in notes["gpt-5-mini"])
    assert any("not enabled" in n for n in notes["claude-opus-4-7"])
    assert any("does not include gpt-5-nano" in n for n in notes["gpt-5-nano"])


async def test_a_run_whose_rows_cannot_be_written_says_so_and_ends(alice, branch, monkeypatch):
    from playground.compare import runs

    def broken(started):
        raise RuntimeError("a constraint the rows break")

    monkeypatch.setattr(runs, "save_runs", broken)
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    error = next(f for f in frames if f["type"] == "completion.error")
    assert error["code"] == "log_failed"
    assert "could not write" in error["message"]
    # The socket's run slot was given back: another run may start.
    assert runs._active_runs[alice.pk] == 0
