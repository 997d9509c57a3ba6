"""Settings for the playground. Every tunable comes from the environment.

With nothing set, the app runs on SQLite and the in-memory channel layer.
`DATABASE_URL` switches to PostgreSQL, `REDIS_URL` to channels-redis.
"""

import os
import warnings
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_float(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def env_list(name, default=""):
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_secret(name, default=""):
    """Read NAME, or the contents of the file named by NAME_FILE (Docker/K8s secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {exc}") from None
    return os.environ.get(name, default)


# Development by default (as healthchecks does); production sets DJANGO_DEBUG=0, which
# then requires DJANGO_SECRET_KEY and PLAYGROUND_TOKEN_KEYS.
DEBUG = env_bool("DJANGO_DEBUG", True)
# Demo mode: a demo account and a "Simulator" branch. Never on unless asked for or DEBUG.
DEMO_MODE = env_bool("PLAYGROUND_DEMO", DEBUG)

SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "django-insecure-dev-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",  # first: `runserver` becomes the ASGI server
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "gateway",
    "playground.teams",
    "playground.compare",
    "playground.usage",
    "playground.catalog",
    "playground.prompts",
    "axes",  # failed logins throttled per account and per address
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a locked-out login into the "too many attempts" page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "playground.urls"
ASGI_APPLICATION = "playground.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # `|money` on every page without a load: the one money formatter (playground/money.py).
            "builtins": ["playground.money_tags"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "playground.teams.current.context",
                "playground.teams.signup.context",
            ],
        },
    },
]

# Database: SQLite (WAL) by default, PostgreSQL through DATABASE_URL.
# SQLite the same way whichever way it is named (SQLITE_PATH or DATABASE_URL=sqlite:///...).
SQLITE_OPTIONS = {
    # WAL lets the usage pages read while streams write their rows.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    # Writers take the lock when they begin, so a reader that turns writer never deadlocks.
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    import dj_database_url

    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # An unreachable database fails a write in seconds (the row then waits in memory, see
        # compare/writes.py) instead of holding the database thread until TCP gives up.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))
    elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
        DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 600)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Keep the connection: opening one (with the PRAGMAs below) costs milliseconds,
            # and Channels closes expired connections around every websocket's session lookup,
            # which would put that cost before each run's first token.
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 600),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Who can create an account: "open" (anyone), "invite" (only through an invitation link),
# "closed" (nobody; `createsuperuser` and invitations still work).
PLAYGROUND_SIGNUP = env_str("PLAYGROUND_SIGNUP", "open" if DEMO_MODE else "closed").strip().lower()
if PLAYGROUND_SIGNUP not in ("open", "invite", "closed"):
    raise ImproperlyConfigured(f"PLAYGROUND_SIGNUP must be open, invite or closed, not {PLAYGROUND_SIGNUP!r}")

# Failed logins (django-axes): after LOGIN_FAILURE_LIMIT failures for one account, or from one
# address, that account or address waits LOGIN_LOCKOUT_MINUTES. Kept in the database, so
# every server process sees the same counts; `manage.py axes_reset` unlocks everyone.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are kept, not every successful login
AXES_LOCKOUT_CALLABLE = "playground.teams.signup.locked_out"
AXES_CLIENT_IP_CALLABLE = "playground.teams.audit.client_address"
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "compare:index"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` writes (whitenoise serves it in production). Set STATIC_ROOT to a
# folder outside the checkout in production; development serves from the app folders.
STATIC_ROOT = env_str("STATIC_ROOT") or str(BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security headers. Every asset is served by the app, so the policy is 'self' only.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Gateway tokens are encrypted with MultiFernet: the first key encrypts, all decrypt.
# PLAYGROUND_TOKEN_KEYS is a comma-separated list of Fernet keys (newest first).
TOKEN_KEYS = [k.strip() for k in env_secret("PLAYGROUND_TOKEN_KEYS").split(",") if k.strip()]
if not TOKEN_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("PLAYGROUND_TOKEN_KEYS must be set when DJANGO_DEBUG is off")
    warnings.warn(
        "PLAYGROUND_TOKEN_KEYS is not set: gateway tokens are encrypted with a key derived "
        "from DJANGO_SECRET_KEY. Set PLAYGROUND_TOKEN_KEYS in production.",
        stacklevel=1,
    )

# The simulator the demo branch points at (`make run` starts it).
SIMULATOR_URL = env_str("SIMULATOR_URL", "http://127.0.0.1:8001")
# Outbound gateway calls: https to public addresses only, except for these host:port pairs
# (a bare host means port 443 only). Demo mode allows the simulator's host:port.
_simulator = urlsplit(SIMULATOR_URL)
GATEWAY_ALLOWED_HOSTS = env_list(
    "GATEWAY_ALLOWED_HOSTS", f"{_simulator.hostname}:{_simulator.port or 80}" if DEMO_MODE else ""
)
# /metrics (Prometheus): off unless a bearer token or caller addresses (IPs or CIDRs) are set.
METRICS_TOKEN = env_secret("METRICS_TOKEN")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS")
GATEWAY_CONNECT_TIMEOUT = env_float("GATEWAY_CONNECT_TIMEOUT", 10.0)
# Read timeout between two chunks of a stream (reasoning models can be silent a while).
GATEWAY_READ_TIMEOUT = env_float("GATEWAY_READ_TIMEOUT", 120.0)
GATEWAY_MAX_CONNECTIONS = env_int("GATEWAY_MAX_CONNECTIONS", 400)
# Seconds an idle gateway connection stays open for the next request. httpx's default (5 s)
# closed them between runs a user starts a few seconds apart, so nearly every run paid a new
# connection (and, to the real gateway, a TLS handshake) per model: with 150 streams started
# together, 150 new connections. Keep it below the gateway's own idle timeout.
GATEWAY_KEEPALIVE_SECONDS = env_float("GATEWAY_KEEPALIVE_SECONDS", 60.0)
# One polite automatic retry on 429 when Retry-After is at most this many seconds.
GATEWAY_RETRY_AFTER_MAX = env_float("GATEWAY_RETRY_AFTER_MAX", 3.0)

# Mail (team invitations): printed to the console in demo mode, SMTP otherwise.
if env_str("EMAIL_HOST") or not DEMO_MODE:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env_str("EMAIL_HOST", "localhost"),
                "port": env_int("EMAIL_PORT", 25),
                "username": env_str("EMAIL_HOST_USER"),
                "password": env_secret("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", False),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "playground@localhost")
# An invitation link works for this many days unless its maker chooses otherwise.
INVITATION_DAYS = env_int("INVITATION_DAYS", 7)

# Views of public share links per client address and minute.
SHARE_RATE_PER_MINUTE = env_int("SHARE_RATE_PER_MINUTE", 60)

# Limits on runs.
RUN_MAX_MODELS = env_int("RUN_MAX_MODELS", 8)
RUN_MAX_MESSAGE_BYTES = env_int("RUN_MAX_MESSAGE_BYTES", 512 * 1024)
# Images in a run (data: URLs, upload or paste): the size of each, decoded, and how many.
RUN_MAX_IMAGE_BYTES = env_int("RUN_MAX_IMAGE_BYTES", 4 * 1024 * 1024)
RUN_MAX_IMAGES = env_int("RUN_MAX_IMAGES", 4)
RUN_MAX_CONCURRENT_PER_USER = env_int("RUN_MAX_CONCURRENT_PER_USER", 4)
# What a run start reads (the user's branch and role, the team's prices, budgets, spend and
# rate limit) comes from this process's memos: a change made in this process applies at once,
# one made by another server process within this many seconds. 0: every run asks the database.
RUN_START_MEMO_SECONDS = env_float("RUN_START_MEMO_SECONDS", 5.0)
# A user's branch that ran in the last this many seconds has those memos read again in the
# background before they run out, so the next run there does not wait for the database. 0: off.
RUN_START_WARM_SECONDS = env_float("RUN_START_WARM_SECONDS", 600.0)
# Compare asks to confirm a run whose worst case (every model writing max tokens) costs more (USD).
RUN_CONFIRM_USD = env_float("RUN_CONFIRM_USD", 0.50)
# Limits per Compare socket: frames a client may send per second (a burst of twice that),
# and frames the server may have queued or sent without the client acknowledging them.
WS_MAX_FRAMES_PER_SECOND = env_int("WS_MAX_FRAMES_PER_SECOND", 20)
WS_MAX_UNACKED_FRAMES = env_int("WS_MAX_UNACKED_FRAMES", 4096)
# Once a Compare socket's writer has text to send it waits this long (ms), so the chunks of the
# other panels arriving meanwhile go in the same frame: about half the frames at 150 streams
# (bench/relay.py), for at most this much latency per chunk. 0 sends at once.
RELAY_COALESCE_MS = env_float("RELAY_COALESCE_MS", 1.0)
# A run's rows (the run and a `streaming` row per model) are written this long (ms) after it
# starts, together with the runs that start meanwhile, while the requests wait for their first
# tokens: written at once, the first run's rows held the GIL while the runs starting with it
# were still sending their requests (bench/relay.py). 0 writes at once.
RUN_ROWS_GATHER_MS = env_float("RUN_ROWS_GATHER_MS", 20.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # Lockouts are warnings; every reset on a successful login is not worth a line.
        "axes": {"level": "WARNING"},
    },
}

# In development whitenoise serves straight from the app folders (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG
# Nothing lost (playground/compare/lifecycle.py): every few seconds each server process
# writes the text of all its live answers in one statement and beats its heartbeat; on
# SIGTERM it writes them `interrupted` within the grace; a process whose pid is gone or
# whose heartbeat is older than the timeout has its `streaming` rows marked `interrupted`.
RUN_CHECKPOINT_SECONDS = env_float("RUN_CHECKPOINT_SECONDS", 5.0)
RUN_HEARTBEAT_TIMEOUT = env_float("RUN_HEARTBEAT_TIMEOUT", 120.0)
RUN_SHUTDOWN_GRACE_SECONDS = env_float("RUN_SHUTDOWN_GRACE_SECONDS", 5.0)
# During a database outage finished rows wait in memory and are retried this long.
RUN_DB_RETRY_SECONDS = env_float("RUN_DB_RETRY_SECONDS", 900.0)
# Rows without a process (written before processes were recorded) still `streaming` after
# this long are marked `interrupted`.
RUN_STALE_SECONDS = env_int("RUN_STALE_SECONDS", 3600)
