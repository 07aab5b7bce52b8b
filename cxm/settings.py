"""CXM settings: one file, read from the environment, safe defaults for a laptop.

`make run` needs no variable at all (SQLite, tasks in-process). Production sets
`DEBUG=0`, `SECRET_KEY`, `ALLOWED_HOSTS`, `DATABASE_URL` and `CELERY_BROKER_URL`.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env(
    "SECRET_KEY",
    default="cxm-insecure-development-key-set-SECRET_KEY-in-production" if DEBUG else environ.Env.NOTSET,
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "touchpoints",
    "customers",
    "experiences",
    "journeys",
    "scoring",
    "feedback",
    "dashboards",
    "integrations",
    "outbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cxm.urls"
WSGI_APPLICATION = "cxm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "feedback.context_processors.inbox_count",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A kept connection is checked before its first use in a request or task, so a database restart costs
# no request or task an error on a dead connection. The check costs a round trip only when the server
# has written to the idle connection (cxm/postgresql/base.py).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# No parallel workers for the app's queries: a page's queries read a few rows, and a parallel worker
# starts with empty caches, which costs 40–90 ms on a partitioned table (docs/scaling.md, step 5).
# The full recompute's aggregates of every experience ask for them (scoring.recompute).
PG_OPTIONS = "-c max_parallel_workers_per_gather=0"
if "postgresql" in DATABASES["default"]["ENGINE"]:
    DATABASES["default"]["ENGINE"] = "cxm.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = PG_OPTIONS
else:
    # SQLite (`make run`) builds an index's key without its INCLUDE columns: the index still serves,
    # only PostgreSQL's index-only reads of those columns are lost, which the demo data never needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
# The write path's statement is prepared once per connection and then only executed (cxm/prepared.py).
# Turn off behind a pooler in transaction mode (PgBouncer's pool_mode = transaction), which cannot keep
# SQL-level prepared statements: docs/scaling.md.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
# A PostgreSQL streaming replica for dashboard reads (docs/scaling.md, step 4; cxm/db_router.py): unset,
# everything reads and writes the one database. A browser that wrote reads the primary for
# CXM_REPLICA_PIN_SECONDS after, so it sees its own change (longer than the replica's usual lag).
# A replica that does not answer (within connect_timeout) is left alone for CXM_REPLICA_RETRY_SECONDS.
CXM_REPLICA_PIN_SECONDS = env.int("CXM_REPLICA_PIN_SECONDS", default=10)
CXM_REPLICA_RETRY_SECONDS = env.float("CXM_REPLICA_RETRY_SECONDS", default=30)
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL") | {"ENGINE": DATABASES["default"]["ENGINE"]}
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    DATABASES["replica"]["OPTIONS"]["options"] = PG_OPTIONS
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # the tests' database has no replica of its own
    DATABASE_ROUTERS = ["cxm.db_router.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"), "cxm.db_router.ReplicaReadsMiddleware"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"  # each role lands on its page (accounts.views.home)
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages (docs/languages.md): each user picks one on their profile page or with the switch in
# the menu; otherwise the browser's choice. Catalogues in locale/, compiled by `make messages`.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["cxm.formats"]  # English dates as "28 Nov 2026, 23:34", not the US "11/28/2026"
# Displayed dates are in the company's time zone; money is in the company's currency (ISO 4217).
TIME_ZONE = env("TIME_ZONE", default="Europe/Madrid")
CXM_CURRENCY = env("CXM_CURRENCY", default="EUR")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Tasks: with no broker configured every task runs in-process, right after the commit
# that enqueued it, so `make run` needs neither Redis nor a worker.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless this is set; the
# worker keeps it instead, like a web process, for CONN_MAX_AGE (cxm/celery.py).
CELERY_DB_REUSE_MAX = 1_000_000
# When the broker connection drops, tasks under way are cancelled and redelivered (every task is
# idempotent); the worker reconnects on its own, and scripts/respawn or compose restart it if it exits.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# kombu's Redis transport with a fix for workers exiting when Redis restarts (cxm/broker.py).
CELERY_BROKER_TRANSPORT = "cxm.broker:Transport" if CELERY_BROKER_URL.startswith("redis") else None
# The least time between the starts of two incremental rescores (docs/scoring.md): under load each
# run takes what arrived since the last, so a score shows within about this long plus a run.
CXM_RESCORE_INTERVAL_SECONDS = env.float("CXM_RESCORE_INTERVAL_SECONDS", default=0.5)
# The same for the outbox's dispatch (outbox/services.py): one dispatch serves every write of its interval.
CXM_DISPATCH_INTERVAL_SECONDS = env.float("CXM_DISPATCH_INTERVAL_SECONDS", default=0.25)
# Every Redis client (broker, result backend, cache) gives up after this many seconds, so a
# stalled Redis can hold no request or task longer (docs/operations.md, "Faults").
CXM_REDIS_TIMEOUT_SECONDS = env.float("CXM_REDIS_TIMEOUT_SECONDS", default=1.0)
# Except a worker's broker connection, which waits out a stall (cxm/celery.py says why).
CXM_WORKER_REDIS_TIMEOUT_SECONDS = env.float("CXM_WORKER_REDIS_TIMEOUT_SECONDS", default=60.0)
CELERY_BROKER_CONNECTION_TIMEOUT = CXM_REDIS_TIMEOUT_SECONDS
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 300,  # no message waits in Redis longer than this: retries are scheduled in the database
    "socket_timeout": CXM_REDIS_TIMEOUT_SECONDS,
    "socket_connect_timeout": CXM_REDIS_TIMEOUT_SECONDS,
}
CELERY_REDIS_SOCKET_TIMEOUT = CXM_REDIS_TIMEOUT_SECONDS
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = CXM_REDIS_TIMEOUT_SECONDS
# Queues by latency (docs/operations.md): scores on their own queue and worker pool, so a slow
# webhook receiver or mail server (the `events` queue) can never delay a score.
CELERY_TASK_DEFAULT_QUEUE = "events"
CELERY_TASK_ROUTES = {
    "scoring.tasks.*": {"queue": "scoring"},
    "outbox.tasks.dispatch": {"queue": "scoring"},  # quick: it only hands rows to the broker
    "cxm.health.*": {"queue": "scoring"},
}
CELERY_TIMEZONE = TIME_ZONE
# Periodic work (Celery beat).
CELERY_BEAT_SCHEDULE = {
    # The outbox (docs/architecture.md): hand every due row (dirty marks, webhook deliveries,
    # outbox tasks) to the broker, so a lost message or a broker outage costs seconds.
    "outbox-sweep": {"task": "outbox.tasks.dispatch", "schedule": 2.0, "options": {"expires": 2.0}},
    # Scores (docs/scoring.md): the nightly rescore refreshes every customer score, since
    # recovery debt shrinks as memories fade.
    "scoring-nightly": {"task": "scoring.tasks.nightly_rescore", "schedule": crontab(hour=3, minute=15)},
    # Closing the loop (docs/feedback.md): escalate overdue cases, open the cases a lost message
    # missed, refresh the relationship ladder suggestions nightly.
    "escalate-overdue-cases": {"task": "feedback.tasks.escalate_overdue_cases", "schedule": 15 * 60},
    "sweep-missing-cases": {"task": "feedback.tasks.sweep_missing_cases", "schedule": 60 * 60},
    "sweep-unsent-invitations": {"task": "feedback.tasks.sweep_unsent_invitations", "schedule": 5 * 60},
    # Surveys (docs/feedback.md): invite after moments of truth, remind once, find themes in what customers say.
    "trigger-surveys": {"task": "feedback.tasks.trigger_surveys", "schedule": 60.0, "options": {"expires": 60.0}},
    "send-survey-reminders": {"task": "feedback.tasks.send_reminders", "schedule": 15 * 60},
    "match-new-notes": {"task": "feedback.tasks.match_new_notes", "schedule": 5 * 60},
    "refresh-themes": {"task": "feedback.tasks.refresh_themes", "schedule": crontab(hour=3, minute=45)},
    "suggest-ladder-moves": {"task": "feedback.tasks.suggest_ladder_moves", "schedule": crontab(hour=4, minute=0)},
    # The experience table's monthly partitions (docs/scaling.md): the months ahead, and back-dated rows
    # moved out of the default partition.
    "experience-partitions": {"task": "experiences.tasks.keep_partitions", "schedule": crontab(hour=2, minute=30)},
    # CSV import jobs (docs/api.md): start uploads whose message was lost or whose worker died.
    "import-jobs-resume": {"task": "integrations.tasks.resume_import_jobs", "schedule": 60.0},
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CELERY_BROKER_URL,
        "OPTIONS": {"socket_timeout": CXM_REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": CXM_REDIS_TIMEOUT_SECONDS},
    }
    if CELERY_BROKER_URL
    else {"BACKEND": "cxm.cache.LocalCache"}
}

# A dashboard page's cached figures (and their rendered HTML) may be served this long after a rescore
# changed them, so a steady write load does not make every view recompute (dashboards/cache.py).
CXM_DASHBOARD_STALE_SECONDS = env.float("CXM_DASHBOARD_STALE_SECONDS", default=5.0)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integrations.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
# The REST API (docs/api.md): requests per API key (or per logged-in user) before a 429;
# a key's own `throttle_rate` overrides it.
CXM_API_THROTTLE_RATE = env("CXM_API_THROTTLE_RATE", default="600/minute")
# Seconds before each attempt of a webhook delivery (the Standard Webhooks schedule: at once,
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); its length is the number of attempts.
CXM_WEBHOOK_RETRY_SCHEDULE = [
    int(seconds)
    for seconds in env.list(
        "CXM_WEBHOOK_RETRY_SCHEDULE", default=["0", "5", "300", "1800", "7200", "18000", "36000", "36000"]
    )
]
# The largest request body the API reads (larger: 413 before anything is parsed).
CXM_API_MAX_BODY_BYTES = env.int("CXM_API_MAX_BODY_BYTES", default=1024 * 1024)
# How long an Idempotency-Key header is remembered (docs/api.md).
CXM_IDEMPOTENCY_KEY_HOURS = env.int("CXM_IDEMPOTENCY_KEY_HOURS", default=24)
CXM_WEBHOOK_TIMEOUT_SECONDS = env.float("CXM_WEBHOOK_TIMEOUT_SECONDS", default=10)
# Receivers on loopback, private or link-local addresses (on premises) are refused unless allowed.
CXM_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = env.bool("CXM_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS", default=False)
# After a secret rotation, the old secret keeps signing (beside the new one) for this long.
CXM_WEBHOOK_SECRET_OVERLAP_HOURS = env.float("CXM_WEBHOOK_SECRET_OVERLAP_HOURS", default=24)
SPECTACULAR_SETTINGS = {
    "TITLE": "CXM API",
    "DESCRIPTION": "Customer experience management: ingest experiences, read customers, catalogues and scores.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "integrations.schema.add_error_responses",
    ],
}

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# The score (DESIGN §3). Changing the half-life or the emotional share needs
# `manage.py rescore --all --rewrite-masses`; the negative weight is applied when reading.
CXM_EMOTIONAL_SHARE = env.float("CXM_EMOTIONAL_SHARE", default=0.9)
CXM_HALF_LIFE_DAYS = env.float("CXM_HALF_LIFE_DAYS", default=180.0)
CXM_NEGATIVE_WEIGHT = env.float("CXM_NEGATIVE_WEIGHT", default=5.0)
CXM_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
# How far in the future an experience may be dated (clock skew of integrations).
CXM_MAX_FUTURE_MINUTES = env.int("CXM_MAX_FUTURE_MINUTES", default=5)

# E-mail (survey invitations, case escalations): printed to the console unless configured.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="cxm@localhost")
# Where links in e-mails point (survey invitations, cases).
CXM_BASE_URL = env("CXM_BASE_URL", default="http://127.0.0.1:8000")

# Closing the loop (docs/feedback.md). Survey links expire after CXM_SURVEY_TTL_DAYS; a negative
# experience caught by its department's case rules (Department.case_*) opens a recovery case if it
# happened in the last CXM_CASE_LOOKBACK_DAYS; a comment whose sentiment is at least
# CXM_SENTIMENT_CONTRADICTION (VADER compound, 0..1) against its score is flagged for review.
CXM_SURVEY_TTL_DAYS = env.int("CXM_SURVEY_TTL_DAYS", default=14)
# Triggered surveys: no customer gets more than one invitation (any survey) per CXM_SURVEY_QUIET_DAYS;
# an experience is considered only if its rule's delay ran out less than CXM_SURVEY_TRIGGER_WINDOW_HOURS ago.
CXM_SURVEY_QUIET_DAYS = env.int("CXM_SURVEY_QUIET_DAYS", default=30)
CXM_SURVEY_TRIGGER_WINDOW_HOURS = env.int("CXM_SURVEY_TRIGGER_WINDOW_HOURS", default=48)
CXM_CASE_LOOKBACK_DAYS = env.int("CXM_CASE_LOOKBACK_DAYS", default=7)
# Staff correct or void what they logged for this many hours after logging it (docs/staff-form.md).
CXM_CORRECTION_WINDOW_HOURS = env.int("CXM_CORRECTION_WINDOW_HOURS", default=24)
CXM_SENTIMENT_CONTRADICTION = env.float("CXM_SENTIMENT_CONTRADICTION", default=0.5)
# The relationship ladder rules (customers/ladder.py, docs/feedback.md).
CXM_LADDER_WINDOW_DAYS = env.int("CXM_LADDER_WINDOW_DAYS", default=90)
CXM_LADDER_UP_POSITIVES = env.int("CXM_LADDER_UP_POSITIVES", default=3)
CXM_LADDER_DOWN_NEGATIVES = env.int("CXM_LADDER_DOWN_NEGATIVES", default=2)

# --- Production readiness (docs/security.md, docs/operations.md) ----------------------------
# With DEBUG=0 every setting below defaults to the strict value and `manage.py check --deploy`
# is clean; each can be relaxed from the environment (e.g. SECURE_SSL_REDIRECT=0 when a
# TLS-terminating proxy already redirects, or for the plain-HTTP stack on 127.0.0.1).
INSTALLED_APPS += ["csp", "axes", "privacy"]
MIDDLEWARE = [
    "cxm.middleware.DatabaseUnavailableMiddleware",
    *MIDDLEWARE,
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]
# Behind a proxy that terminates TLS, trust its X-Forwarded-Proto (only if it always sets it).
if env.bool("CXM_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # load balancers probe over plain HTTP
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Content-Security-Policy: no inline script or style anywhere; the Swagger UI template's two
# inline blocks carry a per-request nonce (templates/drf_spectacular/swagger_ui.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Passwords: Argon2id first (cxm/hashers.py); older hashes still verify and are upgraded on login.
PASSWORD_HASHERS = [
    "cxm.hashers.CxmArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
# Login lock-out (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username from
# one address, that pair is refused for AXES_COOLOFF_TIME hours; `manage.py axes_reset` unlocks.
AUTHENTICATION_BACKENDS = ["cxm.lockout.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "cxm.lockout.locked_out"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)
# Redis holds only hints: its outage must not fail a request (cxm/cache.py).
if CELERY_BROKER_URL:
    CACHES["default"]["BACKEND"] = "cxm.cache.ResilientRedisCache"
# Secrets never reach the logs (cxm/log_redaction.py); gunicorn's own logs: cxm/gunicorn.conf.py.
LOGGING["filters"] = {"redact_secrets": {"()": "cxm.log_redaction.RedactSecrets"}}
LOGGING["handlers"]["console"]["filters"] = ["redact_secrets"]
LOGGING["loggers"] = {"axes": {"level": "WARNING"}}  # lock-outs are warnings; "reset on login" is noise
# Probes (cxm/health.py): /readyz wants a worker heartbeat younger than this.
CXM_HEARTBEAT_SECONDS = env.float("CXM_HEARTBEAT_SECONDS", default=15.0)
CXM_HEARTBEAT_MAX_AGE_SECONDS = env.float("CXM_HEARTBEAT_MAX_AGE_SECONDS", default=60.0)
CELERY_IMPORTS = ["cxm.health"]
CELERY_BEAT_SCHEDULE["worker-heartbeat"] = {
    "task": "cxm.health.heartbeat",
    "schedule": CXM_HEARTBEAT_SECONDS,
    "options": {"expires": CXM_HEARTBEAT_SECONDS},
}
# Seconds a client is told to wait (Retry-After) when the database is briefly unavailable.
CXM_RETRY_AFTER_SECONDS = env.int("CXM_RETRY_AFTER_SECONDS", default=5)

# --- Company sign-in (docs/security.md, "Company sign-in and second factor") -----------------
# Single sign-on through the company's OpenID Connect provider (django-allauth), switched on by
# CXM_OIDC_SERVER_URL (the issuer; its /.well-known/openid-configuration is read), with the
# client id and secret registered there. People are matched by verified e-mail; their role and
# departments follow the claims named below when the provider sends them.
INSTALLED_APPS += [
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "django_otp",
    "django_otp.plugins.otp_totp",
]
MIDDLEWARE.insert(MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "allauth.account.middleware.AccountMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "accounts.middleware.SecondFactorMiddleware")
AUTHENTICATION_BACKENDS += ["allauth.account.auth_backends.AuthenticationBackend"]
ACCOUNT_ADAPTER = "accounts.sso.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.sso.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*"]
ACCOUNT_EMAIL_VERIFICATION = "none"  # the company's provider vouches for the address
ACCOUNT_LOGOUT_REDIRECT_URL = LOGOUT_REDIRECT_URL
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # an existing CXM user with the same verified e-mail
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_STORE_TOKENS = False
CXM_OIDC_SERVER_URL = env("CXM_OIDC_SERVER_URL", default="")
CXM_OIDC_CREATE_USERS = env.bool("CXM_OIDC_CREATE_USERS", default=True)
CXM_OIDC_ROLE_CLAIM = env("CXM_OIDC_ROLE_CLAIM", default="cxm_role")
CXM_OIDC_DEPARTMENTS_CLAIM = env("CXM_OIDC_DEPARTMENTS_CLAIM", default="cxm_departments")
CXM_OIDC_PROVIDER_ID = "company"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "SCOPE": env.list("CXM_OIDC_SCOPES", default=["openid", "profile", "email"]),
        "APPS": [
            {
                "provider_id": CXM_OIDC_PROVIDER_ID,
                "name": env("CXM_OIDC_NAME", default="company account"),
                "client_id": env("CXM_OIDC_CLIENT_ID", default=""),
                "secret": env("CXM_OIDC_CLIENT_SECRET", default=""),
                "settings": {"server_url": CXM_OIDC_SERVER_URL},
            }
        ]
        if CXM_OIDC_SERVER_URL
        else [],
    }
}
# The log-in page's button posts to CXM, which redirects the browser to the provider: the CSP's
# form-action must allow the provider's origin for that redirect.
if CXM_OIDC_SERVER_URL:
    _issuer = urlsplit(CXM_OIDC_SERVER_URL)
    _provider = f"{_issuer.scheme}://{_issuer.netloc}"
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(_provider)  # type: ignore[attr-defined]
# Second factor (django-otp, TOTP): whoever has an authenticator app set up confirms each sign-in
# with a code; with CXM_REQUIRE_TOTP=1 managers and admins must set one up before anything else.
CXM_REQUIRE_TOTP = env.bool("CXM_REQUIRE_TOTP", default=False)
OTP_TOTP_ISSUER = "CXM"
