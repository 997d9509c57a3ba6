"""Settings read from the environment, each in a fresh process (settings are read once)."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-for-the-check-0123456789-abcdef",
    "PLAYGROUND_TOKEN_KEYS": "q0cc2vtnvkQ1Rh6Hq0z0tQW7H3bXkq1t4dYx9w1r5Yk=",
}
DEMO = {"DJANGO_DEBUG": "1"}
# Variables the test run sets (tests/settings.py) that would hide the defaults under test.
UNSET = (
    "GATEWAY_ALLOWED_HOSTS",
    "PLAYGROUND_DEMO",
    "PLAYGROUND_SIGNUP",
    "DATABASE_URL",
    "REDIS_URL",
    "SIMULATOR_URL",
    "STATIC_ROOT",
    "SQLITE_PATH",
)


def run_settings(env, code):
    base = {k: v for k, v in os.environ.items() if k not in UNSET}
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "playground.settings", **env},
        capture_output=True,
        text=True,
    )


def settings_of(env, *names):
    """{name: value} of playground.settings under `env` (str() of anything not JSON)."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    result = run_settings(env, code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_demo_mode_allows_the_simulator_host_and_port_only():
    values = settings_of({**DEMO, "SIMULATOR_URL": "http://127.0.0.1:8123"}, "GATEWAY_ALLOWED_HOSTS")
    assert values["GATEWAY_ALLOWED_HOSTS"] == ["127.0.0.1:8123"]


def test_production_allows_no_private_gateway_unless_listed():
    assert settings_of(PRODUCTION, "GATEWAY_ALLOWED_HOSTS") == {"GATEWAY_ALLOWED_HOSTS": []}


def test_signup_is_closed_in_production_and_open_in_demo_mode():
    assert settings_of(PRODUCTION, "PLAYGROUND_SIGNUP") == {"PLAYGROUND_SIGNUP": "closed"}
    assert settings_of(DEMO, "PLAYGROUND_SIGNUP") == {"PLAYGROUND_SIGNUP": "open"}
    assert settings_of({**PRODUCTION, "PLAYGROUND_SIGNUP": "Invite"}, "PLAYGROUND_SIGNUP") == {
        "PLAYGROUND_SIGNUP": "invite"
    }


def test_a_bad_signup_mode_stops_the_start_with_a_clear_message():
    result = run_settings({**PRODUCTION, "PLAYGROUND_SIGNUP": "sometimes"}, "import django; django.setup()")
    assert result.returncode != 0
    assert "PLAYGROUND_SIGNUP must be open, invite or closed" in result.stderr


def test_a_sqlite_database_url_gets_the_same_settings_as_the_default_path(tmp_path):
    names = ("DATABASES",)
    by_url = settings_of({**DEMO, "DATABASE_URL": f"sqlite:///{tmp_path}/by-url.sqlite3"}, *names)["DATABASES"]
    by_path = settings_of({**DEMO, "SQLITE_PATH": str(tmp_path / "by-path.sqlite3")}, *names)["DATABASES"]
    for key in ("ENGINE", "OPTIONS", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS"):
        assert by_url["default"][key] == by_path["default"][key], key
    assert by_url["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in by_url["default"]["OPTIONS"]["init_command"]
    assert by_url["default"]["NAME"] == f"{tmp_path}/by-url.sqlite3"


def test_static_root_comes_from_the_environment(tmp_path):
    assert settings_of({**PRODUCTION, "STATIC_ROOT": str(tmp_path)}, "STATIC_ROOT") == {"STATIC_ROOT": str(tmp_path)}
