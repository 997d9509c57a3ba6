"""Real signals to a real daphne: SIGTERM mid-stream writes the answer `interrupted` with its
partial text and closes the socket; after SIGKILL the checkpoint's text survives and the next
start marks the row `interrupted`.

The server runs in a subprocess on its own SQLite file (read here with sqlite3), with the
session-wide gateway simulator.
"""

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import ROOT, free_port, start_daphne

PROMPT = "Tell a long story sim:interval_ms=50 sim:chunks=600"


@pytest.fixture
def app_env(tmp_path, simulator):
    """Environment of a production-like server on its own database, a session and a branch."""
    env = {
        **os.environ,
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "playground.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "signals-test-secret-key-0123456789-abcdefghijkl",
        "PLAYGROUND_TOKEN_KEYS": "q0cc2vtnvkQ1Rh6Hq0z0tQW7H3bXkq1t4dYx9w1r5Yk=",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "GATEWAY_ALLOWED_HOSTS": simulator.removeprefix("http://"),  # host:port
        "PLAYGROUND_DEMO": "1",
        "SQLITE_PATH": str(tmp_path / "app.sqlite3"),
        "SIMULATOR_URL": simulator,
        "PYTHONWARNINGS": "ignore",
    }
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    script = (
        "import django;django.setup();"
        "from django.test import Client;from playground.teams.models import Branch;"
        "from django.contrib.auth import get_user_model;"
        "u=get_user_model().objects.get(username='demo');c=Client();c.force_login(u);"
        "b=Branch.objects.get(team__memberships__user=u,is_simulator=True);"
        "print(c.cookies['sessionid'].value, b.code)"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    session, branch = out.stdout.split()
    env["_SESSION"], env["_BRANCH"] = session, branch
    return env


def query(env, sql):
    with sqlite3.connect(env["SQLITE_PATH"], timeout=10) as db:
        return db.execute(sql).fetchall()


def rows(env):
    return query(env, "SELECT code, status, output_text, error_code, process FROM compare_completion")


def wait_until(condition, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def start_stream(env, port, deltas):
    """Connect, start one slow answer, return (socket, text received) after `deltas` deltas."""
    ws = await connect(
        f"ws://127.0.0.1:{port}/ws/compare/",
        additional_headers={"Cookie": f"sessionid={env['_SESSION']}"},
        origin=f"http://127.0.0.1:{port}",
    )
    run = {
        "type": "run",
        "branch": env["_BRANCH"],
        "models": ["gpt-5-mini"],
        "messages": [{"role": "user", "content": PROMPT}],
        "params": {"max_tokens": 4096},
    }
    await ws.send(json.dumps(run))
    text, seen = "", 0
    while seen < deltas:
        frame = json.loads(await ws.recv())
        assert frame["type"] in ("run.started", "delta"), frame
        if frame["type"] == "delta" and frame.get("text"):
            text += frame["text"]
            seen += 1
    return ws, text


def test_sigterm_writes_the_answer_interrupted_with_its_text_and_closes_the_socket(app_env):
    # A checkpoint far away: what is written comes from the shutdown, not from a checkpoint.
    port = free_port()
    server = start_daphne("playground.asgi:application", port, {**app_env, "RUN_CHECKPOINT_SECONDS": "600"})

    async def scenario():
        ws, text = await start_stream(app_env, port, deltas=8)
        server.send_signal(signal.SIGTERM)
        end = None
        with pytest.raises(ConnectionClosed):
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if frame["type"] == "delta":
                    text += frame.get("text", "")
                elif frame["type"].startswith("completion."):
                    end = frame
        return text, end, ws.close_code

    try:
        text, end, close_code = asyncio.run(scenario())
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
    assert close_code == 4012
    # The panel's end frame goes out when the socket's writer is still up (daphne cancels the
    # socket's consumer at the same moment): when it came, it says interrupted.
    assert end is None or end["status"] == "interrupted"
    [(_code, status, output, error_code, process)] = rows(app_env)
    assert (status, error_code) == ("interrupted", "interrupted")
    # The row holds at least what the browser saw (deltas still in the socket's writer at
    # shutdown may not have gone out).
    assert output.startswith(text)
    assert len(text) > 0
    # Counted in the rollup, and the process recorded as stopped.
    assert query(app_env, "SELECT SUM(requests), SUM(errors) FROM usage_usagedaily") == [(1, 1)]
    [(stopped,)] = query(app_env, f"SELECT stopped FROM compare_serverprocess WHERE code = '{process}'")
    assert stopped is not None


def test_after_sigkill_the_checkpoint_kept_the_text_and_the_next_start_marks_the_row(app_env):
    env = {**app_env, "RUN_CHECKPOINT_SECONDS": "0.2"}
    port = free_port()
    server = start_daphne("playground.asgi:application", port, env)

    async def scenario():
        ws, text = await start_stream(env, port, deltas=5)
        # Wait for a checkpoint of some of that text, then kill the server without warning.
        await asyncio.to_thread(
            wait_until, lambda: any(r[2] and text.startswith(r[2][:20]) for r in rows(env)), "a checkpoint"
        )
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        with pytest.raises(ConnectionClosed):
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if frame["type"] == "delta":
                    text += frame.get("text", "")
        return text

    try:
        text = asyncio.run(scenario())
    finally:
        server.kill()
    [(code, status, saved, _error, process)] = rows(env)
    assert status == "streaming"
    assert saved and text.startswith(saved)
    assert query(env, f"SELECT COUNT(*) FROM compare_serverprocess WHERE code = '{process}'") == [(1,)]

    # The next start: the row's process is gone (its pid no longer runs), so it is interrupted.
    port = free_port()
    restarted = start_daphne("playground.asgi:application", port, env)
    try:
        wait_until(lambda: rows(env)[0][1] == "interrupted", "the start-up sweep")
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=30)
    [(same, status, kept, error_code, _process)] = rows(env)
    assert (same, status, kept, error_code) == (code, "interrupted", saved, "interrupted")
    assert query(env, "SELECT SUM(requests), SUM(errors) FROM usage_usagedaily") == [(1, 1)]
    assert query(env, f"SELECT COUNT(*) FROM compare_serverprocess WHERE code = '{process}'") == [(0,)]
