"""Django settings, driven by the environment (see README "Configuration").

Development needs nothing: SQLite under var/, console e-mail, files under var/media.
Production sets DATABASE_URL (PostgreSQL), SECRET_KEY, ALLOWED_HOSTS and DEBUG=0.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CUSTODY_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


INSECURE_DEFAULT_SECRET_KEY = "insecure-development-key-change-me"
SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", default=True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "core",
    "django_htmx",
    "ninja",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "audit",
    "fleet",
    "custodies",
    "approvals",
    "documents",
    "integrations",
    "billing",
    "notifications",
    "ops",
    "quotes",
    "reports",
    "support",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Request id, request log line and per-minute metrics; after static files, before everything else.
    "monitoring.middleware.RequestMetricsMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.sessions.SlidingSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.MalformedBodyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.TwoFactorRequiredMiddleware",
    "ops.middleware.MaintenanceMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "ops.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.layout",
                "ops.context_processors.system",
                "support.context_processors.support",
            ],
        },
    },
]

# Database: SQLite (WAL) by default, PostgreSQL through DATABASE_URL.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# PostgreSQL: the custody detail and the plain list are prepared per connection (core.rawsql.prepared).
CUSTODY_DB_PREPARE = env_bool("CUSTODY_DB_PREPARE", default=True)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql") and CUSTODY_DB_PREPARE:
        # psycopg prepares nothing with a threshold of None (Django's default), not even on request.
        # Django's own cursors never prepare whatever the threshold; core.rawsql.prepared asks for the
        # few statements it runs, and this threshold is never reached by anything else.
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "custody.sqlite3")),
            "OPTIONS": {
                # WAL lets readers run beside the single writer; IMMEDIATE avoids
                # "database is locked" upgrades inside write transactions.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling (django-axes): lock an email+IP pair after 5 failures for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_VERBOSE = False

SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
# Sliding expiry: idle sessions end SESSION_COOKIE_AGE after the last request, give or take
# CUSTODY_SESSION_REFRESH_SECONDS — a page writes the session row only when it was last written longer
# ago than that (core.sessions), not on every request.
SESSION_ENGINE = "core.sessions"
SESSION_SAVE_EVERY_REQUEST = False
CUSTODY_SESSION_REFRESH_SECONDS = int(os.environ.get("CUSTODY_SESSION_REFRESH_SECONDS", "300"))
# The custody list's customer filter offers the customers of the last 300 custodies; each server process
# keeps them this long per branch scope (a new custody's customer shows within this time).
CUSTODY_RECENT_CUSTOMERS_SECONDS = int(os.environ.get("CUSTODY_RECENT_CUSTOMERS_SECONDS", "60"))
# The configuration every write reads (SLA policies, approval rules, the default tax profile): each server
# process keeps it this long (core.kept); a change saved in another process applies here within this time.
CUSTODY_CONFIG_CACHE_SECONDS = int(os.environ.get("CUSTODY_CONFIG_CACHE_SECONDS", "30"))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None

# Content Security Policy (django-csp 4): everything is served from our own origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Internationalisation: English and Arabic (right-to-left); times stored in UTC.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ar", _("Arabic"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["core.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Dubai")
USE_I18N = True
USE_TZ = True

# Static files: our own plus front-end libraries installed by npm (package.json).
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
    ("vendor/signature_pad", NODE_MODULES / "signature_pad" / "dist"),
]
WHITENOISE_USE_FINDERS = True  # serve straight from the finders so `make run` needs no collectstatic

# Files: Django storage API; filesystem by default, S3-compatible with CUSTODY_STORAGE=s3.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media-not-public/"  # documents are never served directly; see documents views
if os.environ.get("CUSTODY_STORAGE", "filesystem") == "s3":
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("AWS_STORAGE_BUCKET_NAME", ""),
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "default_acl": "private",
            "querystring_auth": True,
        },
    }
else:
    DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# E-mail: console in development, SMTP through EMAIL_URL-like variables in production.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Custody <no-reply@custody.local>")

# Caches: "tokens" holds API token lookups for a few seconds (accounts/tokencache.py). It must be
# shared by every server process so a revocation reaches all of them at once: a file cache on one
# host, Redis (CUSTODY_TOKEN_CACHE_LOCATION=redis://...) when servers run on several hosts.
CUSTODY_TOKEN_CACHE_SECONDS = int(os.environ.get("CUSTODY_TOKEN_CACHE_SECONDS", "15"))
_TOKEN_CACHE_LOCATION = os.environ.get("CUSTODY_TOKEN_CACHE_LOCATION", str(VAR_DIR / "cache" / "tokens"))
# "shared" holds small stamps every server process must agree on (the generation of the cached
# saved-filter menus, accounts/filter_menu.py): next to the tokens, var/cache/shared, or the same Redis.
_SHARED_CACHE_LOCATION = os.environ.get("CUSTODY_SHARED_CACHE_LOCATION") or (
    _TOKEN_CACHE_LOCATION
    if _TOKEN_CACHE_LOCATION.startswith(("redis://", "rediss://"))
    else str(VAR_DIR / "cache" / "shared")
)


def _shared_cache(location: str, prefix: str) -> dict:
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache"
        if location.startswith(("redis://", "rediss://"))
        else "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": location,
        "KEY_PREFIX": prefix,
    }


CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "tokens": _shared_cache(_TOKEN_CACHE_LOCATION, "custody"),
    "shared": _shared_cache(_SHARED_CACHE_LOCATION, "custody-shared"),
}

# Background work: django-tasks on the database queue.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Backups (custody backup / the scheduled job): where, how often (0 = no scheduled backup), how many kept.
CUSTODY_BACKUP_DIR = os.environ.get("CUSTODY_BACKUP_DIR", str(VAR_DIR / "backups"))
CUSTODY_BACKUP_EVERY_HOURS = int(os.environ.get("CUSTODY_BACKUP_EVERY_HOURS", "0"))
CUSTODY_BACKUP_KEEP = int(os.environ.get("CUSTODY_BACKUP_KEEP", "7"))

# Product settings.
CUSTODY_CURRENCY = os.environ.get("CUSTODY_CURRENCY", "AED")
CUSTODY_API_TOKEN_TTL = timedelta(hours=int(os.environ.get("CUSTODY_API_TOKEN_TTL_HOURS", "12")))
CUSTODY_MAX_UPLOAD_BYTES = int(os.environ.get("CUSTODY_MAX_UPLOAD_MB", "10")) * 1024 * 1024
# Exports of more rows than this are built by the worker (progress page, link in the inbox).
CUSTODY_EXPORT_SYNC_ROWS = int(os.environ.get("CUSTODY_EXPORT_SYNC_ROWS", "10000"))
# Finished export files are deleted after this many days.
CUSTODY_EXPORT_KEEP_DAYS = int(os.environ.get("CUSTODY_EXPORT_KEEP_DAYS", "7"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Logs: JSON lines (time, level, logger, message, request_id, user_id, route, duration_ms...) or plain
# text for development (CUSTODY_LOG_FORMAT=text; the default while DEBUG is on).
CUSTODY_LOG_FORMAT = os.environ.get("CUSTODY_LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "core.logging.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "core.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request"],
            "formatter": "json" if CUSTODY_LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per request from our middleware; Django's own 4xx/5xx warnings would repeat it.
        "custody.request": {"level": os.environ.get("CUSTODY_REQUEST_LOG_LEVEL", "INFO")},
    },
}

# Monitoring (DESIGN §13, §15.2): /metrics answers only with this bearer token (404 when unset).
CUSTODY_METRICS_TOKEN = os.environ.get("CUSTODY_METRICS_TOKEN", "")
# The middleware writes its per-minute rollups when the minute changes (tests turn it off).
CUSTODY_METRICS_FLUSH_IN_REQUEST = env_bool("CUSTODY_METRICS_FLUSH_IN_REQUEST", default=True)
# Monitoring lists the statements of requests that take at least this long.
CUSTODY_SLOW_QUERY_MS = float(os.environ.get("CUSTODY_SLOW_QUERY_MS", "100"))
# Link audit entries after commit in a thread of each server process instead of in the committing
# request (audit.services); `custody serve` turns it on for its workers.
CUSTODY_AUDIT_LINK_IN_BACKGROUND = env_bool("CUSTODY_AUDIT_LINK_IN_BACKGROUND", default=False)
# Each response says how long the server spent on it (`Server-Timing: app;dur=<ms>`); off by default,
# as the figure helps anyone timing the server from outside.
CUSTODY_SERVER_TIMING = env_bool("CUSTODY_SERVER_TIMING", default=False)


# Settlement (DESIGN §8): fuel and excess-km suggestions at close.
CUSTODY_FUEL_PRICE_PER_EIGHTH = os.environ.get("CUSTODY_FUEL_PRICE_PER_EIGHTH", "25.00")
CUSTODY_KM_ALLOWANCE_PER_DAY = int(os.environ.get("CUSTODY_KM_ALLOWANCE_PER_DAY", "250"))
CUSTODY_EXCESS_KM_PRICE = os.environ.get("CUSTODY_EXCESS_KM_PRICE", "0.50")

# Webhooks (DESIGN §9): private/loopback targets are refused unless explicitly allowed.
CUSTODY_WEBHOOK_ALLOW_PRIVATE = os.environ.get("CUSTODY_WEBHOOK_ALLOW_PRIVATE", "0")
CUSTODY_WEBHOOK_ALLOWED_NETWORKS = os.environ.get("CUSTODY_WEBHOOK_ALLOWED_NETWORKS", "")
CUSTODY_WEBHOOK_LEASE_SECONDS = int(os.environ.get("CUSTODY_WEBHOOK_LEASE_SECONDS", "60"))
# How long an Idempotency-Key request with no result yet counts as still running (ops.idempotency).
CUSTODY_IDEMPOTENCY_LEASE_SECONDS = int(os.environ.get("CUSTODY_IDEMPOTENCY_LEASE_SECONDS", "60"))
# /readyz fails when no worker heartbeat is fresh (production default; off for development).
CUSTODY_READYZ_REQUIRE_WORKER = env_bool("CUSTODY_READYZ_REQUIRE_WORKER", default=not DEBUG)

# Public base URL used in e-mails (signing links, password resets sent by the worker).
CUSTODY_PUBLIC_URL = os.environ.get("CUSTODY_PUBLIC_URL", "http://127.0.0.1:8000")
CUSTODY_SIGNING_LINK_HOURS = int(os.environ.get("CUSTODY_SIGNING_LINK_HOURS", "72"))

# Users (DESIGN §14): set-password links of invitations and admin resets; TOTP for admins.
CUSTODY_SET_PASSWORD_LINK_HOURS = int(os.environ.get("CUSTODY_SET_PASSWORD_LINK_HOURS", "72"))
CUSTODY_REQUIRE_ADMIN_2FA = env_bool("CUSTODY_REQUIRE_ADMIN_2FA", default=False)
# The first-login tour (support/tour.py); the test suite turns it off so it covers no page under test.
CUSTODY_ONBOARDING_TOUR = env_bool("CUSTODY_ONBOARDING_TOUR", default=True)
OTP_TOTP_ISSUER = os.environ.get("CUSTODY_TOTP_ISSUER", "Custody")

# Secrets at rest (webhook/inbound integration secrets): comma-separated Fernet keys, newest first.
CUSTODY_SECRET_KEYS = os.environ.get("CUSTODY_SECRET_KEYS", "")

# Rate limits (core.ratelimit, django-ratelimit): counters in the database cache so every server
# process shares them. CUSTODY_RATE_LIMITS overrides per group, e.g. {"login": "30/m"}.
CACHES["ratelimit"] = {
    "BACKEND": "django.core.cache.backends.db.DatabaseCache",
    "LOCATION": "custody_ratelimit_cache",
}
RATELIMIT_USE_CACHE = "ratelimit"
RATELIMIT_ENABLE = env_bool("CUSTODY_RATELIMIT_ENABLE", default=True)
CUSTODY_RATE_LIMITS: dict[str, str] = {}
