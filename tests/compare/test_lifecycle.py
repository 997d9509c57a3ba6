"""Nothing lost: the start-up sweep by process, mark_interrupted and the rollup, the checkpoint,
and shutdown, in this process (tests/compare/test_signals.py sends real signals to daphne)."""

import asyncio
import json
import subprocess
import sys
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from playground.compare import lifecycle, runs
from playground.compare.models import THIS_PROCESS, Completion, Run, ServerProcess
from playground.usage.models import UsageDaily
from playground.usage.rollup import record
from tests.compare.test_consumer import connect, expand, receive_until, run_frame

SLOW = "Say hello sim:interval_ms=40 sim:chunks=400"


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def process(**fields):
    values = {"code": uuid.uuid4(), "host": ServerProcess.this_host(), "pid": dead_pid()}
    values.update(fields)
    return ServerProcess.objects.create(**values)


@pytest.fixture
def row(team, alice, branch):
    """row(process=..., **fields): a request of alice's, `streaming` unless told otherwise."""
    from gateway.models import GatewayModel

    run = Run.objects.create(team=team, user=alice, branch=branch, messages=[{"role": "user", "content": "Hi there"}])
    price = GatewayModel.objects.get(id="gpt-5-mini").price_snapshot()

    def make(proc=None, **fields):
        values = {
            "model": "gpt-5-mini",
            "status": Completion.Status.STREAMING,
            "output_text": "Partial answer",
            "price": price,
            "process": proc.code if proc else None,
        }
        values.update(fields)
        return Completion.objects.create(run=run, team=team, user=alice, branch=branch, **values)

    return make


def rollup_matches_log():
    """The rollup's totals equal the request log's (every request that is not streaming)."""
    log = Completion.objects.exclude(status=Completion.Status.STREAMING).aggregate(n=Count("id"), cost=Sum("cost"))
    rolled = UsageDaily.objects.aggregate(n=Sum("requests"), cost=Sum("cost"))
    assert (rolled["n"] or 0, rolled["cost"] or Decimal(0)) == (log["n"], log["cost"] or Decimal(0))
    return log["n"]


@pytest.mark.django_db
def test_the_sweep_marks_rows_of_a_process_whose_pid_is_gone(row):
    gone = process()
    completion = row(gone)
    assert lifecycle.sweep() == 1
    completion.refresh_from_db()
    assert completion.status == Completion.Status.INTERRUPTED
    assert completion.output_text == "Partial answer"
    assert completion.error_code == "interrupted"
    # No usage came: the prompt and the saved text are counted, flagged as an estimate.
    assert completion.cost_source == Completion.CostSource.ESTIMATED
    assert completion.cost > 0
    assert rollup_matches_log() == 1
    assert not ServerProcess.objects.filter(code=gone.code).exists()


@pytest.mark.django_db
def test_the_sweep_leaves_rows_of_live_processes(row):
    import os

    parent = process(pid=os.getppid())  # a live process of this host
    elsewhere = process(host="another-host", pid=1)  # its heartbeat is fresh
    mine = row(None, process=THIS_PROCESS)
    rows = [row(parent), row(elsewhere), mine]
    assert lifecycle.sweep() == 0
    assert {c.status for c in Completion.objects.filter(pk__in=[c.pk for c in rows])} == {"streaming"}
    assert UsageDaily.objects.count() == 0


@pytest.mark.django_db
def test_the_sweep_marks_rows_of_a_silent_or_stopped_process(row, settings):
    settings.RUN_HEARTBEAT_TIMEOUT = 60
    silent = process(host="another-host", pid=1, heartbeat=timezone.now() - timedelta(seconds=61))
    stopped = process(host="another-host", pid=2, stopped=timezone.now())
    a, b = row(silent), row(stopped)
    assert lifecycle.sweep() == 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == b.status == Completion.Status.INTERRUPTED
    # A silent process's rows end at its last heartbeat, not at the sweep.
    assert a.finished == max(silent.heartbeat, a.started)


@pytest.mark.django_db
def test_rows_of_an_unrecorded_process_or_of_none_wait_for_their_age(row, settings):
    settings.RUN_HEARTBEAT_TIMEOUT = 60
    settings.RUN_STALE_SECONDS = 3600
    unknown = ServerProcess(code=uuid.uuid4())
    now = timezone.now()
    young_unknown = row(unknown, started=now - timedelta(seconds=30))
    old_unknown = row(unknown, started=now - timedelta(seconds=90))
    young_legacy = row(None, process=None, started=now - timedelta(seconds=90))
    old_legacy = row(None, process=None, started=now - timedelta(seconds=3700))
    assert lifecycle.sweep() == 2
    status = dict(Completion.objects.values_list("pk", "status"))
    assert status[young_unknown.pk] == status[young_legacy.pk] == "streaming"
    assert status[old_unknown.pk] == status[old_legacy.pk] == "interrupted"


@pytest.mark.django_db
def test_two_sweeps_count_a_row_once(row):
    row(process())
    assert lifecycle.sweep() == 1
    assert lifecycle.sweep() == 0
    assert rollup_matches_log() == 1


@pytest.mark.django_db
def test_mark_interrupted_updates_the_daily_rollup(row, capsys):
    for _ in range(3):
        done = row(None, status=Completion.Status.OK, cost=Decimal("0.0001"), cost_source="computed")
        record(done)
    for _ in range(4):
        row(None, process=THIS_PROCESS)
    assert rollup_matches_log() == 3
    call_command("mark_interrupted", "--all")
    assert "4 interrupted request(s) marked." in capsys.readouterr().out
    assert rollup_matches_log() == 7
    assert UsageDaily.objects.aggregate(errors=Sum("errors"))["errors"] == 4


@pytest.mark.django_db
def test_mark_interrupted_by_default_leaves_live_processes_alone(row, capsys):
    import os

    live = row(process(pid=os.getppid()))
    gone = row(process())
    call_command("mark_interrupted")
    assert "1 interrupted request(s) marked." in capsys.readouterr().out
    live.refresh_from_db()
    gone.refresh_from_db()
    assert (live.status, gone.status) == ("streaming", "interrupted")


@pytest.mark.django_db(transaction=True)
async def test_the_checkpoint_writes_every_live_answer_in_one_statement_run_per_row(alice, branch, monkeypatch):
    statements = []
    write_texts = lifecycle.write_texts

    def counted(rows):
        with CaptureQueriesContext(connection) as queries:
            written = write_texts(rows)
        statements.append([q["sql"] for q in queries.captured_queries])
        return written

    monkeypatch.setattr(lifecycle, "write_texts", counted)
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "claude-haiku-4-5"], SLOW))
    frames = await receive_until(comm, lambda f: f["type"] == "run.started")
    codes = [c["id"] for c in frames[0]["completions"]]
    # Both answers have some text and both rows exist.
    seen = {}
    while len(seen) < 2:
        for frame in expand(await comm.receive_json_from(timeout=10)):
            if frame["type"] == "delta" and frame.get("text"):
                seen[frame["completion"]] = seen.get(frame["completion"], "") + frame["text"]
    for _ in range(500):
        if await Completion.objects.filter(code__in=codes).acount() == 2:
            break
        await asyncio.sleep(0.01)

    assert await lifecycle.checkpoint() == 2
    assert len(statements) == 1
    # One UPDATE run for both rows (executemany), in one transaction.
    updates = [sql for sql in statements[0] if "UPDATE" in sql]
    assert updates == [updates[0]] and updates[0].startswith("2 times: UPDATE")
    saved = {str(c.code): c.output_text async for c in Completion.objects.filter(code__in=codes)}
    for code in codes:
        assert saved[code].startswith(seen[code])
    assert await ServerProcess.objects.filter(code=THIS_PROCESS).aexists()

    await comm.send_json_to({"type": "stop", "run": frames[0]["run"]})
    await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    # Ended answers are no longer checkpointed.
    assert await lifecycle.checkpoint() == 0
    assert len(statements) == 1


@pytest.fixture
def restore_lifecycle():
    yield
    lifecycle._stopping = False


@pytest.mark.django_db(transaction=True)
async def test_shutdown_writes_live_answers_interrupted_and_closes_the_socket(
    alice, branch, restore_lifecycle, settings
):
    settings.RUN_START_WARM_SECONDS = 60
    await sync_to_async(lifecycle.beat)()
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "claude-haiku-4-5"], SLOW))
    frames = await receive_until(comm, lambda f: f["type"] == "run.started")
    codes = [c["id"] for c in frames[0]["completions"]]
    received = {}
    while len(received) < 2:
        for frame in expand(await comm.receive_json_from(timeout=10)):
            if frame["type"] == "delta" and frame.get("text"):
                received[frame["completion"]] = received.get(frame["completion"], "") + frame["text"]

    keeper = runs._keepers[asyncio.get_running_loop()]
    await lifecycle.shutdown(grace=5)
    assert keeper.task.cancelled() or keeper.task.cancelling()  # no read keeps run starts warm now

    ends = {}
    while True:
        message = await comm.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            break
        for frame in expand(json.loads(message["text"])):
            if frame["type"] == "delta":
                received[frame["completion"]] += frame.get("text", "")
            elif frame["type"] in ("completion.done", "completion.error"):
                ends[frame["completion"]] = frame
    assert message["code"] == lifecycle.CLOSE_RESTARTING
    assert {f["status"] for f in ends.values()} == {"interrupted"}
    rows = {str(c.code): c async for c in Completion.objects.filter(code__in=codes)}
    for code in codes:
        assert rows[code].status == Completion.Status.INTERRUPTED
        assert rows[code].output_text == received[code]
        assert rows[code].output_text
        assert rows[code].error_code == "interrupted"
    assert await sync_to_async(rollup_matches_log)() == 2
    process_row = await ServerProcess.objects.aget(code=THIS_PROCESS)
    assert process_row.stopped is not None


@pytest.mark.django_db(transaction=True)
async def test_a_relay_that_fails_to_write_its_row_leaves_it_interrupted_not_streaming(
    alice, branch, monkeypatch, caplog
):
    from playground.compare import relay

    def broken(completions):
        raise RuntimeError("a receiver failed")

    monkeypatch.setattr(relay, "save_finished", broken)
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    code = frames[0]["completions"][0]["id"]
    for _ in range(500):
        row = await Completion.objects.aget(code=code)
        if row.status != Completion.Status.STREAMING:
            break
        await asyncio.sleep(0.01)
    assert row.status == Completion.Status.INTERRUPTED
    assert row.output_text  # the text it had
    assert await sync_to_async(rollup_matches_log)() == 1
    assert any("ended without writing its row" in r.getMessage() for r in caplog.records)


async def test_the_server_start_makes_the_gateway_pool_before_any_run(monkeypatch):
    """Its TLS context reads the system's certificates (tens of ms): at start, not in a run."""
    from playground import http

    async def checkpoints():
        return None

    monkeypatch.setattr(lifecycle, "_task", None)
    monkeypatch.setattr(lifecycle, "_run", checkpoints)
    monkeypatch.setattr(lifecycle.rendering, "warm", lambda: None)
    loop = asyncio.get_running_loop()
    assert loop not in http._clients
    await lifecycle.start()
    client, _closer = http._clients[loop]
    assert http.gateway_client() is client and not client.is_closed
