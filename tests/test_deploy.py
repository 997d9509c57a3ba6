"""Production settings pass Django's deployment checks."""

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "playground.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-for-the-check-0123456789-abcdef",
        "PLAYGROUND_TOKEN_KEYS": "q0cc2vtnvkQ1Rh6Hq0z0tQW7H3bXkq1t4dYx9w1r5Yk=",
        "DJANGO_ALLOWED_HOSTS": "playground.example.com",
        "DJANGO_SECURE_SSL_REDIRECT": "",
        "DJANGO_SECURE_COOKIES": "",
        "DJANGO_HSTS_SECONDS": "",
        "PLAYGROUND_DEMO": "",
        "GATEWAY_ALLOWED_HOSTS": "",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "playground.settings", "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": ""}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
