"""Live Usage across processes: two daphne processes on one database and one Redis; a run
finished through the first appears, without a reload, on a Usage page served by the second.

On PostgreSQL + Redis when DATABASE_URL and REDIS_URL are set (a database of its own on that
server); otherwise on a temporary SQLite file both processes share and the Redis on
127.0.0.1:6379, which dev and CI machines always run.
"""

import json
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect as ws_connect

from tests.conftest import ROOT, free_port, start_daphne

pytestmark = pytest.mark.browser


def _pg_admin(url, sql):
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def two_servers(simulator, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "playground.settings",
        "DJANGO_DEBUG": "1",
        "PLAYGROUND_DEMO": "1",
        "SIMULATOR_URL": simulator,
        "PYTHONWARNINGS": "ignore",
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
    }
    database = None
    if os.environ.get("DATABASE_URL"):
        database = f"usage_live_{uuid.uuid4().hex[:8]}"
        env["DATABASE_URL"] = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{database}"))
        _pg_admin(os.environ["DATABASE_URL"], f'CREATE DATABASE "{database}"')
    else:
        env["DATABASE_URL"] = ""
        env["SQLITE_PATH"] = str(tmp_path / "shared.sqlite3")
    procs = []
    try:
        for command in (["migrate", "--noinput"], ["seed_demo"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
        ports = [free_port(), free_port()]
        for port in ports:
            procs.append(start_daphne("playground.asgi:application", port, env))
        yield [f"127.0.0.1:{port}" for port in ports]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        if database:
            _pg_admin(os.environ["DATABASE_URL"], f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_a_run_through_one_process_appears_on_a_usage_page_served_by_the_other(browser, two_servers, artifacts):
    first, second = two_servers
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(f"http://{second}/accounts/login/")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/compare/**")
    branch = page.locator("#branch option").first.get_attribute("value")
    page.goto(f"http://{second}/usage/")
    expect(page.locator("#usage-log-rows")).to_contain_text("No requests")
    expect(page.locator("#usage-results")).to_have_attribute("data-live", "on")

    # The same session (cookies are per host, not per port) runs a prompt through the first process.
    session = next(c["value"] for c in context.cookies() if c["name"] == "sessionid")
    frame = {
        "type": "run",
        "branch": branch,
        "models": ["gpt-5-mini"],
        "messages": [{"role": "user", "content": "Hello from the other process"}],
        "params": {"max_tokens": 64},
    }
    with ws_connect(
        f"ws://{first}/ws/compare/",
        additional_headers={"Cookie": f"sessionid={session}", "Origin": f"http://{first}"},
    ) as ws:
        ws.send(json.dumps(frame))
        while True:
            message = json.loads(ws.recv(timeout=20))
            if message["type"] == "run.started":
                code = message["completions"][0]["id"]
            if message["type"] == "run.done":
                break

    row = page.locator(f'#usage-log-rows tr[data-code="{code}"]')
    expect(row).to_contain_text("gpt-5-mini")
    expect(row).to_have_class("usage-new")
    page.screenshot(path=artifacts / "usage-live-1440.png", full_page=True)
    context.close()
