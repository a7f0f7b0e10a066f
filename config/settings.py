"""Settings for Annotator, read from the environment.

Every value has an embedded default that runs on a laptop with nothing else
installed (SQLite, a directory as the bucket, in-memory websocket layer).
Production sets ANNOTATOR_PRODUCTION=true and the variables in README.md.
"""

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_float, env_header, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("ANNOTATOR_VAR_DIR", BASE_DIR / "var")

PRODUCTION = env_bool("ANNOTATOR_PRODUCTION", False)
DEBUG = env_bool("DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    # Refused rather than ignored: a deployment that asks for it should learn it did not get it.
    raise ImproperlyConfigured(
        "DEBUG=true is refused with ANNOTATOR_PRODUCTION=true: debug pages show settings and tracebacks to "
        "anyone. Unset DEBUG (or set DEBUG=false)."
    )

_INSECURE_KEY = "django-insecure-annotator-development-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", _INSECURE_KEY)
# Django's own criteria (check --deploy's security.W009), refused outright in production.
if PRODUCTION and (
    len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
    or len(set(SECRET_KEY)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
    or SECRET_KEY.startswith(SECRET_KEY_INSECURE_PREFIX)
):
    raise ImproperlyConfigured(
        f"SECRET_KEY must be a random value of at least {SECRET_KEY_MIN_LENGTH} characters, "
        f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS} of them distinct, not starting with {SECRET_KEY_INSECURE_PREFIX!r}, "
        "in production. Generate one with: python -c 'from django.core.management.utils import "
        "get_random_secret_key; print(get_random_secret_key())'"
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names the app is served on.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Links in e-mails are built from this, never from the request's Host header.
BASE_URL = env_str("ANNOTATOR_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "accounts",
    "annotator",
    "teams",
    "training",
    "assist",
]

# Production serves the static files `collectstatic` gathered (the images run it at build time) from
# the app itself through WhiteNoise: compressed, content hashes in the names, cached for a year.
# Development and the tests serve them from the source folders, no collectstatic needed.
ANNOTATOR_SERVE_STATIC = env_bool("ANNOTATOR_SERVE_STATIC", PRODUCTION)

MIDDLEWARE = [
    # Probes first: answered before host validation and the HTTPS redirect, and not logged.
    "config.health.HealthCheckMiddleware",
    "config.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    *(["whitenoise.middleware.WhiteNoiseMiddleware"] if ANNOTATOR_SERVE_STATIC else []),
    "config.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# /readyz (config/health.py): seconds each dependency check may take before it counts as failed.
ANNOTATOR_READY_TIMEOUT = env_int("ANNOTATOR_READY_TIMEOUT", 3)

# --- Database -----------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'annotator.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
# The password apart from the URL, so that it can come from a file (DATABASE_PASSWORD_FILE: the
# compose file's generated secret, a mounted Kubernetes Secret) while the URL stays plain config.
# When set, it replaces any password written in DATABASE_URL.
_DATABASE_PASSWORD = env_str("DATABASE_PASSWORD", "")
if _DATABASE_PASSWORD:
    DATABASES["default"]["PASSWORD"] = _DATABASE_PASSWORD
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers
    # queue on the busy timeout instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# PostgreSQL connections shared by a process's threads. The ASGI server runs each request in a
# thread of its own, so per-thread persistent connections (DATABASE_CONN_MAX_AGE) would pile up
# to one per thread ever used; a pool keeps at most this many per process and reuses them.
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 0)
if DATABASE_POOL_SIZE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent connections with a pool
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DATABASE_POOL_SIZE}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and websocket layer -------------------------------------------

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # channels_redis queues every socket of a web process in one Redis list, capped at `capacity`
    # messages: its default (100) overflows when a few dozen sockets join at once (each answers the
    # newcomer's presence), and a group send to a full process drops real events.
    # No client socket timeout: channels_redis blocks in BZPOPMIN for 5 s, and redis-py's default
    # read timeout (also 5 s) failed an idle process's receive every 5 s, closing a websocket; and
    # with any timeout redis-py sends through asyncio.wait_for, which on Python 3.11 can swallow a
    # cancellation (gh-86296), so a closed socket's receive loop never ended. The server answers
    # BZPOPMIN within 5 s; TCP keepalive finds a peer that vanished.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": None, "socket_keepalive": True}],
                "capacity": 5000,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Accounts ------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "annotator:project-list"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["accounts.backends.RateLimitedModelBackend"]
# Failed logins allowed per (account, client address) before it must wait out the lockout.
ANNOTATOR_LOGIN_MAX_FAILURES = env_int("ANNOTATOR_LOGIN_MAX_FAILURES", 5)
ANNOTATOR_LOGIN_LOCKOUT_SECONDS = env_int("ANNOTATOR_LOGIN_LOCKOUT_SECONDS", 15 * 60)
# Without it, accounts are created only by accepting an invitation (or by an operator).
ANNOTATOR_OPEN_REGISTRATION = env_bool("ANNOTATOR_OPEN_REGISTRATION", False)
ANNOTATOR_INVITATION_DAYS = env_int("ANNOTATOR_INVITATION_DAYS", 7)
ANNOTATOR_ADMIN_EMAIL = env_str("ANNOTATOR_ADMIN_EMAIL", "admin@example.com")
ANNOTATOR_ADMIN_PASSWORD = env_str("ANNOTATOR_ADMIN_PASSWORD", "")

# HTTPS (README, Production): production redirects plain HTTP to HTTPS and sends HSTS
# (only ever on HTTPS answers). Behind a proxy that terminates TLS, SECURE_PROXY_SSL_HEADER names
# the header it sets to "https" (it must overwrite any the client sent), so requests count as secure.
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
_PROXY_SSL_HEADER = env_header("SECURE_PROXY_SSL_HEADER")
SECURE_PROXY_SSL_HEADER = (_PROXY_SSL_HEADER, "https") if _PROXY_SSL_HEADER else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Bucket storage --------------------------------------------------------------

ANNOTATOR_STORAGE = env_choice("ANNOTATOR_STORAGE", "local", {"local", "s3"})
ANNOTATOR_BUCKET = env_str("ANNOTATOR_BUCKET", "annotator")
ANNOTATOR_LOCAL_BUCKETS_DIR = env_path("ANNOTATOR_LOCAL_BUCKETS_DIR", VAR_DIR / "buckets")
ANNOTATOR_S3: dict[str, Any] = {  # keyword arguments of annotator.storage.s3.S3Settings
    "endpoint_url": env_str("ANNOTATOR_S3_ENDPOINT_URL", "") or None,
    "region": env_str("ANNOTATOR_S3_REGION", "us-east-1"),
    "access_key_id": env_str("ANNOTATOR_S3_ACCESS_KEY_ID", "") or None,
    "secret_access_key": env_str("ANNOTATOR_S3_SECRET_ACCESS_KEY", "") or None,
    "addressing_style": env_choice("ANNOTATOR_S3_ADDRESSING_STYLE", "path", {"path", "virtual", "auto"}),
    # Browsers load images by presigned link: when they reach the endpoint at another address than
    # the servers do (docker/compose.yaml), links are signed for this one.
    "public_endpoint_url": env_str("ANNOTATOR_S3_PUBLIC_ENDPOINT_URL", "") or None,
}
ANNOTATOR_PRESIGNED_URL_SECONDS = env_int("ANNOTATOR_PRESIGNED_URL_SECONDS", 300)
# Every S3 call (instance and project buckets): seconds to connect, seconds per read, attempts in
# all; "Test connection" makes one attempt per call and ends, in all, within the test timeout.
ANNOTATOR_S3_CONNECT_TIMEOUT = env_int("ANNOTATOR_S3_CONNECT_TIMEOUT", 5)
ANNOTATOR_S3_READ_TIMEOUT = env_int("ANNOTATOR_S3_READ_TIMEOUT", 30)
ANNOTATOR_S3_MAX_ATTEMPTS = env_int("ANNOTATOR_S3_MAX_ATTEMPTS", 3)
ANNOTATOR_S3_TEST_TIMEOUT = env_int("ANNOTATOR_S3_TEST_TIMEOUT", 15)
# Per-project bucket connections (docs/buckets.md). Fernet keys, comma-separated, first encrypts;
# empty derives one from SECRET_KEY.
ANNOTATOR_ENCRYPTION_KEY = env_str("ANNOTATOR_ENCRYPTION_KEY", "")
# Project endpoints on private or loopback addresses (a MinIO on the LAN); link-local and
# cloud metadata addresses are refused whatever this says.
ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS = env_bool("ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS", False)
# "thread": sync jobs run in a thread of the web process; "celery": on workers consuming "storage".
# ANNOTATOR_STORAGE_JOBS is the deprecated name of the same switch, read when the new one is unset.
ANNOTATOR_BUCKET_JOBS = env_choice(
    "ANNOTATOR_BUCKET_JOBS", env_choice("ANNOTATOR_STORAGE_JOBS", "thread", {"thread", "celery"}), {"thread", "celery"}
)
ANNOTATOR_SYNC_READ_THREADS = env_int("ANNOTATOR_SYNC_READ_THREADS", 16)
ANNOTATOR_SYNC_HEARTBEAT_TIMEOUT = env_int("ANNOTATOR_SYNC_HEARTBEAT_TIMEOUT", 120)
# _annotations.json is written back once annotations have been quiet for this many seconds.
ANNOTATOR_ANNOTATIONS_WRITE_DELAY = env_int("ANNOTATOR_ANNOTATIONS_WRITE_DELAY", 30)

# --- Uploads -------------------------------------------------------------------

ANNOTATOR_MAX_IMAGE_PIXELS = env_int("ANNOTATOR_MAX_IMAGE_PIXELS", 80_000_000)
ANNOTATOR_MAX_UPLOAD_BYTES = env_int("ANNOTATOR_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
# Memory one image check may take: its bytes plus its decoded pixels at their bit depth
# (annotator/uploads.py); decodes at once per process are bounded too.
ANNOTATOR_MAX_DECODE_BYTES = env_int("ANNOTATOR_MAX_DECODE_BYTES", 256 * 1024 * 1024)
ANNOTATOR_MAX_CONCURRENT_DECODES = env_int("ANNOTATOR_MAX_CONCURRENT_DECODES", 2)
ANNOTATOR_ZIP_MAX_ENTRIES = env_int("ANNOTATOR_ZIP_MAX_ENTRIES", 5000)
ANNOTATOR_ZIP_MAX_TOTAL_BYTES = env_int("ANNOTATOR_ZIP_MAX_TOTAL_BYTES", 2 * 1024**3)
ANNOTATOR_ZIP_MAX_RATIO = env_int("ANNOTATOR_ZIP_MAX_RATIO", 200)
ANNOTATOR_THUMBNAIL_SIZE = env_int("ANNOTATOR_THUMBNAIL_SIZE", 320)
# Dataset imports and exports (docs/datasets.md): small ones run in the request, larger ones on
# Celery's "jobs" queue; a running job silent for longer than the timeout is failed.
ANNOTATOR_INLINE_IMPORT_MAX_BYTES = env_int("ANNOTATOR_INLINE_IMPORT_MAX_BYTES", 20 * 1024 * 1024)
ANNOTATOR_INLINE_EXPORT_MAX_IMAGES = env_int("ANNOTATOR_INLINE_EXPORT_MAX_IMAGES", 300)
ANNOTATOR_DATASET_JOB_HEARTBEAT_TIMEOUT = env_int("ANNOTATOR_DATASET_JOB_HEARTBEAT_TIMEOUT", 300)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("ANNOTATOR_MAX_FILES_PER_REQUEST", 200)

# --- Training runs and their workers (Celery) ------------------------------------

# Production names a Redis or RabbitMQ broker; without one, a filesystem queue under var/
# needs no server and works across processes on one machine (`make run` starts a worker).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or REDIS_URL or "filesystem://"
ANNOTATOR_CELERY_DIR = env_path("ANNOTATOR_CELERY_DIR", VAR_DIR / "celery")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(ANNOTATOR_CELERY_DIR / "queue"),
        "data_folder_out": str(ANNOTATOR_CELERY_DIR / "queue"),
        "control_folder": str(ANNOTATOR_CELERY_DIR / "control"),
        "polling_interval": 0.5,
    }
    if CELERY_BROKER_URL.startswith("filesystem:")
    else {}
)
# The run's database row holds every outcome; nothing reads Celery results.
CELERY_TASK_IGNORE_RESULT = True
# Jobs name their queue when they are sent (annotator/jobs.py: syncs "storage", dataset imports
# and exports "jobs", runs "training"), so none waits behind another kind; housekeeping below.
CELERY_TASK_ROUTES = {"annotator.tasks.*": {"queue": "storage"}}
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# One reaper for every kind of job (annotator.jobs.REAP_SECONDS).
CELERY_BEAT_SCHEDULE = {"reap-jobs": {"task": "annotator.tasks.reap_jobs", "schedule": 15.0}}
if ANNOTATOR_BUCKET_JOBS == "celery":
    # Bucket housekeeping (docs/buckets.md): reaper, debounced _annotations.json, periodic syncs.
    CELERY_BEAT_SCHEDULE["storage-tick"] = {"task": "annotator.tasks.storage_tick", "schedule": 10.0}

# A running run whose worker has not written a heartbeat for this long is failed.
ANNOTATOR_RUN_HEARTBEAT_TIMEOUT = env_int("ANNOTATOR_RUN_HEARTBEAT_TIMEOUT", 45)
ANNOTATOR_RUN_HEARTBEAT_INTERVAL = env_int("ANNOTATOR_RUN_HEARTBEAT_INTERVAL", 10)
# Prediction jobs (docs/assist.md) run on workers consuming the "predict" queue; a running one silent
# for this long is failed. Suggestions scoring below the floor are not stored (the editor's slider
# starts there); at most this many per image.
ANNOTATOR_PREDICT_HEARTBEAT_TIMEOUT = env_int("ANNOTATOR_PREDICT_HEARTBEAT_TIMEOUT", 120)
ANNOTATOR_PREDICT_BATCH = env_int("ANNOTATOR_PREDICT_BATCH", 32)
ANNOTATOR_SUGGESTION_MIN_SCORE = env_float("ANNOTATOR_SUGGESTION_MIN_SCORE", 0.1)
ANNOTATOR_SUGGESTIONS_PER_IMAGE = env_int("ANNOTATOR_SUGGESTIONS_PER_IMAGE", 50)
# Pre-flight minimums: labelled images per class (classification), boxes per class (detection).
ANNOTATOR_MIN_IMAGES_PER_CLASS = env_int("ANNOTATOR_MIN_IMAGES_PER_CLASS", 5)
ANNOTATOR_MIN_BOXES_PER_CLASS = env_int("ANNOTATOR_MIN_BOXES_PER_CLASS", 10)
# Backbone weights: a local Keras .h5 file (or a folder of them), else the Keras cache, else Keras'
# download when ANNOTATOR_BACKBONE_DOWNLOAD allows it (needs internet on the worker). training/weights.py.
ANNOTATOR_BACKBONE_WEIGHTS = env_str("ANNOTATOR_BACKBONE_WEIGHTS", "") or "imagenet"
# Air-gapped installs set false: a run without local weights is then refused by the pre-flight check.
ANNOTATOR_BACKBONE_DOWNLOAD = env_bool("ANNOTATOR_BACKBONE_DOWNLOAD", True)
# Workers cache the images they train on here, keyed by sha256.
ANNOTATOR_TRAINING_CACHE_DIR = env_path("ANNOTATOR_TRAINING_CACHE_DIR", VAR_DIR / "cache" / "training")
# Where node_modules with @tensorflow/tfjs lives, to load each TF.js export back before a run succeeds.
ANNOTATOR_NODE_ROOT = env_path("ANNOTATOR_NODE_ROOT", BASE_DIR)

# --- E-mail --------------------------------------------------------------------

EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Annotator <annotator@localhost>")

# --- REST API ------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns "not logged in" into 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's own parsers, but JSON nested absurdly deep is a 400, not a RecursionError (500).
    "DEFAULT_PARSER_CLASSES": [
        "annotator.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # drf-spectacular's, plus the error envelope on every operation's errors.
    "DEFAULT_SCHEMA_CLASS": "annotator.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "annotator.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "annotator.api.pagination.KeyCursorPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Annotator API",
    "DESCRIPTION": "Projects, labels, images and annotations. Token or session auth.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from our own static files: no CDN, and the page passes the CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Several fields are called status or role with different choices: name each set.
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "annotator.models.Role",
        "ImageStatusEnum": "annotator.models.ImageStatus",
        "JobStatusEnum": "annotator.models.JobStatus",
        "ReviewDecisionEnum": "annotator.models.ReviewDecision",
        "ReviewVerdictEnum": ["approve", "reject"],  # what a reviewer sends (review/, review/bulk/)
    },
    # `<id:...>` (annotator.ids.IdConverter): what a database id can be; larger numbers match no URL.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}},
}

# --- Static files and i18n --------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("ANNOTATOR_STATIC_ROOT", VAR_DIR / "collected-static")
if ANNOTATOR_SERVE_STATIC:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
LANGUAGE_CODE = "en-us"
# The zone times are shown in and team progress counts days in; an IANA name, e.g. "Europe/Berlin".
TIME_ZONE = env_str("ANNOTATOR_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# One line per request (config.logs.RequestLogMiddleware) and per job event; "json" makes every
# line one JSON object for log collectors.
ANNOTATOR_LOG_FORMAT = env_choice("ANNOTATOR_LOG_FORMAT", "text", {"text", "json"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": ANNOTATOR_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # botocore's DEBUG records print request headers, access key IDs included: never below INFO.
        "botocore": {"level": "INFO"},
        "boto3": {"level": "INFO"},
        "s3transfer": {"level": "INFO"},
        # The request line already says "404" or "400"; Django's own line would be a second one.
        "django.request": {"level": "ERROR"},
        # The development server's access lines, likewise.
        "django.channels.server": {"level": "WARNING"},
    },
}
