"""`python -m playground.serve` (daphne on uvloop, what `make run` starts) serves an ASGI app."""

import subprocess
import sys

import httpx

from tests.conftest import ROOT, free_port, wait_for_port


def test_the_launcher_serves_an_app_on_uvloop():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "playground.serve", "-b", "127.0.0.1", "-p", str(port), "gateway.simulator:app"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc)
        response = httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": "Bearer nt_live_x1"})
        assert response.status_code == 200
        assert response.json()["object"] == "list"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_launcher_installs_uvloop_before_daphne_makes_its_loop():
    probe = (
        "import asyncio, sys, uvloop; sys.argv = ['serve', '--help']\n"
        "from playground import serve\n"
        "try:\n    serve.main()\nexcept SystemExit:\n    pass\n"
        "from daphne import server\n"
        "print(type(server.twisted_loop).__module__)"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "uvloop"


def test_the_app_compiles_the_url_validator_at_start_not_on_the_first_run():
    # A run start checks its branch's base URL (teams.validation); Django compiles that
    # validator's pattern on first use, about 50 ms holding the GIL, so the app does it at start.
    probe = (
        "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'playground.settings')\n"
        "from django.core.validators import URLValidator\n"
        "from django.utils.functional import empty\n"
        "before = URLValidator.regex._wrapped is empty\n"
        "import playground.asgi\n"
        "print(before, URLValidator.regex._wrapped is empty)"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "True False"
