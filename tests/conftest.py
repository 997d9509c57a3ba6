"""The fixed cast: alice (owner of her team), bob (alice's teammate), charlie (an outsider).

`simulator` serves gateway/simulator/ with daphne on a real loopback port.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# One Hypothesis profile for every run, so the properties cannot flake on a loaded machine:
# the examples are derived from each test (derandomize), and wall-clock checks that depend on
# the machine's load (the too_slow health check, the per-example deadline) are off. The
# properties and the number of examples are as strict as before.
settings.register_profile("playground", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("playground")

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "nt_live_testtoken_secret_0123456789abcd"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def listen_on(port):
    """daphne's endpoint for 127.0.0.1:port with a listen queue for bursts: with twisted's
    default of 50, a burst of new connections overflows it and each SYN dropped costs its
    client a one-second retransmission (bench/relay.py opens 300 at once)."""
    return ["-e", f"tcp:port={port}:interface=127.0.0.1:backlog=1024"]


def start_daphne(app, port, env=None):
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", *listen_on(port), app],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc)
    return proc


@pytest.fixture(scope="session")
def simulator():
    """Base URL of a gateway simulator (fast: 5 ms to first token, 2 ms between chunks)."""
    port = free_port()
    proc = start_daphne(
        "gateway.simulator:app",
        port,
        {"SIMULATOR_TTFT_MS": "5", "SIMULATOR_INTERVAL_MS": "2", "SIMULATOR_CHUNKS": "12"},
    )
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def thread_connections(django_db_setup, django_db_blocker):
    """Threads that outlive a test keep their own database connections: the run-start threads
    (compare/runs.py) and asgiref's one thread for thread-sensitive `sync_to_async` calls made
    outside `async_to_sync` (async tests). Closed before the test database is dropped
    (PostgreSQL refuses to drop a database someone is connected to)."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from playground.compare.runs import close_run_start_connections

    with django_db_blocker.unblock():
        close_run_start_connections()
        SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)


@pytest.fixture(autouse=True)
def allow_the_simulator(request):
    """A test that uses the simulator may call it: GATEWAY_ALLOWED_HOSTS gets its host:port."""
    if "simulator" not in request.fixturenames:
        return
    url = request.getfixturevalue("simulator")
    settings = request.getfixturevalue("settings")
    settings.GATEWAY_ALLOWED_HOSTS = [*settings.GATEWAY_ALLOWED_HOSTS, url.removeprefix("http://")]


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache and memos: rolled-back rows reuse ids, cached
    values would not."""
    from django.core.cache import cache

    from playground.teams.access import clear_runners_memo
    from playground.teams.pricing import clear_overrides_memo
    from playground.usage.limits import forget_state

    def forget():
        cache.clear()
        forget_state()
        clear_runners_memo()
        clear_overrides_memo()

    forget()
    yield
    forget()


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "pw-alice-123")


@pytest.fixture
def team(alice):
    from playground.teams.models import Team

    return Team.objects.get(memberships__user=alice, personal=True)


@pytest.fixture
def bob(django_user_model, team):
    from playground.teams.models import Membership

    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw-bob-123")
    Membership.objects.create(user=bob, team=team, role=Membership.Role.MEMBER)
    return bob


@pytest.fixture
def charlie(django_user_model):
    return django_user_model.objects.create_user("charlie", "charlie@example.com", "pw-charlie-123")


@pytest.fixture
def catalog(db):
    """The model catalog. A migration loads it, but transactional tests flush the tables."""
    from gateway.catalog import seed
    from gateway.models import GatewayModel
    from playground.compare.runs import forget_catalog

    if not GatewayModel.objects.exists():
        seed()
    forget_catalog()


@pytest.fixture
def branch(team, alice, simulator, catalog):
    from playground.teams.models import Branch

    b = Branch(team=team, name="Simulator", base_url=simulator, is_simulator=True, created_by=alice)
    b.set_token(TOKEN)
    b.save()
    return b


def use_team(client, team):
    """Choose `team` in the top bar's switcher, as the user would (the session remembers it)."""
    from django.urls import reverse

    response = client.post(reverse("team:switch"), {"team": team.slug, "next": "/"})
    assert response.status_code == 302, response.status_code
