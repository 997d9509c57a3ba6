"""Test settings: the real settings with debug off, fast hashing and a fixed key."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
# A fixed Fernet key so tests can prove encryption and rotation.
os.environ.setdefault("PLAYGROUND_TOKEN_KEYS", "q0cc2vtnvkQ1Rh6Hq0z0tQW7H3bXkq1t4dYx9w1r5Yk=")
# Most tests sign people up; tests/teams/test_signup_modes.py tries every mode.
os.environ.setdefault("PLAYGROUND_SIGNUP", "open")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from playground.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# No collectstatic in tests: whitenoise serves from the app folders.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
# host:port pairs: 127.0.0.1:9 and :8001 are in the URLs of branches no test calls; the
# simulator's free port is added per test (tests/conftest.py). Set here, not in the
# environment, so the servers tests start in demo mode allow their own simulator.
GATEWAY_ALLOWED_HOSTS = ["127.0.0.1:9", "127.0.0.1:8001"]
# No background reads keeping run starts warm (compare.runs.keep_warm): a test's event loop
# ends with the test. tests/compare/test_run_start.py turns it on where it is tested.
RUN_START_WARM_SECONDS = 0
