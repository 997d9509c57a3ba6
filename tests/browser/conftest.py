"""A real server for the browser: daphne serving the app (HTTP + websockets) on loopback,
with its own SQLite database in a temporary folder, pointed at the simulator."""

import os
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT, free_port, start_daphne

CHROMIUM = "/usr/bin/chromium"
expect.set_options(timeout=15000)


@pytest.fixture(scope="session")
def app_server(simulator, tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser-server")
    env = {
        **os.environ,
        # Its own SQLite database, whatever the suite runs on (empty means unset).
        "DATABASE_URL": "",
        "DJANGO_SETTINGS_MODULE": "playground.settings",
        "DJANGO_DEBUG": "1",
        "PLAYGROUND_DEMO": "1",
        "SQLITE_PATH": str(folder / "db.sqlite3"),
        "SIMULATOR_URL": simulator,
        "GATEWAY_ALLOWED_HOSTS": simulator.removeprefix("http://"),
        "PYTHONWARNINGS": "ignore",
    }
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    proc = start_daphne("playground.asgi:application", port, env)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


# Module scope: while the sync Playwright driver runs, its event loop is current in this
# thread, and pytest-asyncio's tests elsewhere could not start their own.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_server):
    context = browser.new_context(base_url=app_server, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    # Generous: CI machines have two cores shared by the browser, the app and the simulator.
    page.set_default_timeout(20000)
    yield page
    context.close()


@pytest.fixture
def logged_in(page):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/compare/**")
    return page


@pytest.fixture
def artifacts():
    path = ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
