"""Settings shared by every environment, read from the environment (see docs/deployment.md).

Environment-specific modules (`local`, `test`, `production`) import everything from here and
override what differs. Nothing secret has a default here: `local` creates throwaway secrets under
`var/`, `production` refuses to start without real ones.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("MLSEC_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name, "")
    if not value.strip():
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "accounts.admin_apps.PortalAdminConfig",  # the Django admin, behind the portal's sign-in and second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "accounts",
    "identity",
    "audit",
    "controls",
    "assessments",
    "evidence",
    "checks",
    "scoring",
    "reports",
    "frameworks",
    "sources",
    "notifications",
    "actions",
    "campaigns",
    "ingest",
    "web",
]

MIDDLEWARE = [
    "mlsec_portal.health.HealthCheckMiddleware",  # /healthz, before host checks: probes call it by IP
    "mlsec_portal.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.MFAEnforcementMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mlsec_portal.urls"
WSGI_APPLICATION = "mlsec_portal.wsgi.application"

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
                "csp.context_processors.nonce",
                "web.context_processors.portal",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'mlsec.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default is shared by the web process and the demo's Celery worker: WAL lets
    # readers proceed during a write, IMMEDIATE transactions avoid "database is locked" upgrades.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3 binds parameters on the server and prepares a statement once a connection has run it
    # DATABASE_PREPARE_THRESHOLD times (default 5): the portal's pages repeat the same few hundred queries,
    # and PostgreSQL spent as long planning them as executing them (docs/performance.md, 2026-12-04).
    # Behind a pooler that hands one session's statements to another (PgBouncer in transaction mode before
    # 1.22) set DATABASE_PREPARE_THRESHOLD=off.
    _threshold = (os.environ.get("DATABASE_PREPARE_THRESHOLD") or "5").strip().lower()
    if _threshold != "off" and not (_threshold.isdigit() and int(_threshold) >= 0):
        raise ImproperlyConfigured("DATABASE_PREPARE_THRESHOLD is a count of runs (5) or off")
    try:
        import psycopg  # noqa: F401 - psycopg 3 (requirements.txt); psycopg2 refuses both options at connect
    except ImportError:
        pass
    else:
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True,
            prepare_threshold=None if _threshold == "off" else int(_threshold),
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "identity.oidc.PortalOIDCBackend",  # acts only on an OpenID Connect callback (identity/oidc.py)
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("MLSEC_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
# plotly.js is vendored (static/vendor/plotly.min.js, built by scripts/plotly-bundle/ with only the trace
# types the portal draws), never fetched from a CDN.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Compressed copies of everything a page loads; not of source maps (11 MB of the API docs' bundles that only
# a developer's tools fetch), so collecting static files compresses 6 MB, not 19 MB, with brotli.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (
    "jpg", "jpeg", "png", "gif", "webp", "zip", "gz", "tgz", "bz2", "tbz", "xz", "br", "swf", "flv", "woff", "woff2",
    "3gp", "3gpp", "asf", "avi", "m4v", "mov", "mp4", "mpeg", "mpg", "webm", "wmv", "map",
)
# Pages name static files by their hashed names only ({% static %} with the manifest), so the unhashed
# copies are not kept (nor compressed twice).
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
MEDIA_ROOT = Path(os.environ.get("MLSEC_MEDIA_ROOT", VAR_DIR / "media"))
# Evidence is never served from MEDIA_URL: only through the authorising download view.
MEDIA_URL = "/_never_served_media/"

CACHE_URL = os.environ.get("MLSEC_CACHE_URL", "")
if CACHE_URL.startswith("redis"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # A pipeline's `mlsi_…` ingest token, admitted by the ingest views only (ingest/authentication.py).
        "ingest.authentication.IngestTokenAuthentication",
        # A CI identity token (OIDC JWT, `Bearer`) bound to one project by an administrator's rule (ingest/oidc.py).
        "ingest.oidc.CIIdentityAuthentication",
        # Token first: its WWW-Authenticate header makes unauthenticated requests a 401, not a 403.
        # Both refuse a credential without the second factor its user needs (accounts/authentication.py),
        # so no view's permission_classes can drop the MFA check.
        "accounts.authentication.TokenAuthentication",
        "accounts.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
    ],
    "DEFAULT_PAGINATION_CLASS": "mlsec_portal.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mlsec_portal.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "mlsec_portal.throttling.AnonRateThrottle",
        "mlsec_portal.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("MLSEC_THROTTLE_ANON", "60/minute"),
        "user": os.environ.get("MLSEC_THROTTLE_USER", "1200/minute"),
        "token": os.environ.get("MLSEC_THROTTLE_TOKEN", "20/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MLSec Portal API",
    "DESCRIPTION": "Assess, verify and export the security posture of machine-learning systems.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema maps every endpoint: signed-in users only, with a second factor where their role needs one.
    # (The second factor is enforced by the authentication classes above, which the schema views use too.)
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AssessmentStatusEnum": "assessments.choices.AssessmentStatus",
        "AcceptanceStatusEnum": "assessments.choices.AcceptanceStatus",
        "AcceptanceDecisionEnum": [("approved", "Approved"), ("rejected", "Rejected")],
        "CheckRunStatusEnum": "checks.choices.RunStatus",
        "EvidenceStatusEnum": "evidence.models.EvidenceStatus",
        "EvidenceDecisionEnum": [("accepted", "Accepted"), ("rejected", "Rejected")],
        "ReportStatusEnum": "reports.models.ReportStatus",
        "ActionSourceEnum": "actions.choices.ActionSource",
        "ActionStatusEnum": "actions.choices.ActionStatus",
        "ScoreSourceEnum": ["live", "snapshot", "history"],
        "ResultReportFormatEnum": "ingest.choices.ReportFormat",
        "ResultUploadStatusEnum": "ingest.choices.UploadStatus",
    },
}

# --- Celery ---------------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
if not CELERY_BROKER_URL:
    # Embedded default: a real broker on the local file system (mlsec_portal/broker.py), so
    # `make demo` runs checks in a real worker process without Redis. Production and CI use Redis.
    _broker_dir = VAR_DIR / "celery-broker"
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "mlsecfs://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # kombu's default is ./control, shared by everyone
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = "checks"
# Every queue the portal routes to. A worker started without -Q (`celery -A mlsec_portal worker`,
# as the README says) consumes all of them; `-Q checks` or `-Q heavy` narrows a specialised worker.
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in ("checks", "heavy", "reports", "maintenance")]
CELERY_TASK_ROUTES = {
    "checks.tasks.run_check_task": {"queue": "checks"},
    "checks.tasks.rescan_models_after_upgrade": {"queue": "heavy"},
    "reports.tasks.*": {"queue": "reports"},
    "scoring.tasks.*": {"queue": "maintenance"},
    "checks.tasks.reap_stale_runs": {"queue": "maintenance"},
    "*": {"queue": "maintenance"},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- MLSec Portal ---------------------------------------------------------------------------------
MLSEC_REQUIRE_MFA = env_bool("MLSEC_REQUIRE_MFA", True)
# Identity (docs/identity.md): an OpenID Provider from the environment, beside those administrators add.
MLSEC_OIDC_ISSUER = os.environ.get("MLSEC_OIDC_ISSUER", "").rstrip("/")
MLSEC_OIDC_CLIENT_ID = os.environ.get("MLSEC_OIDC_CLIENT_ID", "")
MLSEC_OIDC_CLIENT_SECRET = os.environ.get("MLSEC_OIDC_CLIENT_SECRET", "")
MLSEC_OIDC_SCOPES = os.environ.get("MLSEC_OIDC_SCOPES", "openid email profile groups")
MLSEC_OIDC_GROUPS_CLAIM = os.environ.get("MLSEC_OIDC_GROUPS_CLAIM", "groups")
MLSEC_OIDC_ROLE_MAP = os.environ.get("MLSEC_OIDC_ROLE_MAP", "")  # JSON {"group": "admin"|"officer"|"auditor"}
MLSEC_OIDC_TEAM_MAP = os.environ.get("MLSEC_OIDC_TEAM_MAP", "")  # JSON {"group": {"team": slug, "role": lead|member}}
MLSEC_OIDC_MFA_AMR = os.environ.get("MLSEC_OIDC_MFA_AMR", "")
MLSEC_OIDC_LABEL = os.environ.get("MLSEC_OIDC_LABEL", "Sign in with single sign-on")
MLSEC_PASSWORD_LOGIN = os.environ.get("MLSEC_PASSWORD_LOGIN", "all")  # all / break-glass / none
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
OIDC_TIMEOUT = 10
OIDC_STORE_ID_TOKEN = True  # the hint for RP-initiated logout
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc-callback"
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"
OIDC_OP_LOGOUT_URL_METHOD = "identity.oidc.provider_logout_url"
MLSEC_MAX_UPLOAD_MB = env_int("MLSEC_MAX_UPLOAD_MB", 25)
# Reports pushed to projects/{id}/results/ (ingest app): validated in the request, processed on a worker.
MLSEC_MAX_RESULTS_MB = env_int("MLSEC_MAX_RESULTS_MB", 50)
MLSEC_EVIDENCE_KEYS = env_list("MLSEC_EVIDENCE_KEY")  # comma-separated: first encrypts, all decrypt
MLSEC_SIGNING_KEY = os.environ.get("MLSEC_SIGNING_KEY", "")  # PEM (or path to PEM) of the Ed25519 key
MLSEC_AUDIT_KEYS = env_list("MLSEC_AUDIT_KEY")  # comma-separated: first keys new audit events, all verify
# Check workers: each team reads only <root>/<team-slug>/ under these roots (or a root an
# administrator assigns it); the portal's own files are never read (checks/confinement.py).
MLSEC_CHECK_ROOTS = env_list("MLSEC_CHECK_ROOTS")
MLSEC_CHECK_PROTECTED_PATHS = env_list("MLSEC_CHECK_PROTECTED_PATHS")  # more paths no check may read
# CIDRs the checks may connect to although they are loopback/private/link-local (empty: none).
MLSEC_CHECK_ALLOWED_NETWORKS = env_list("MLSEC_CHECK_ALLOWED_NETWORKS")
MLSEC_CHECK_MEMORY_MB = env_int("MLSEC_CHECK_MEMORY_MB", 2048)  # address space of a sandboxed runner
MLSEC_CHECK_MAX_DECOMPRESSED_MB = env_int("MLSEC_CHECK_MAX_DECOMPRESSED_MB", 512)  # one pickle stream
MLSEC_CHECK_MAX_PICKLE_OPCODES = env_int("MLSEC_CHECK_MAX_PICKLE_OPCODES", 5_000_000)
MLSEC_CHECK_MAX_ARCHIVE_MEMBERS = env_int("MLSEC_CHECK_MAX_ARCHIVE_MEMBERS", 10_000)
MLSEC_CHECK_TEAM_CONCURRENCY = env_int("MLSEC_CHECK_TEAM_CONCURRENCY", 2)  # running runs per team; 0 = no cap
MLSEC_CHECK_CA_BUNDLE = os.environ.get("MLSEC_CHECK_CA_BUNDLE", "") or None
# Sources (Git, S3, MLflow) are fetched into a fresh workspace per run, deleted afterwards, with limits.
MLSEC_SOURCE_MAX_MB = env_int("MLSEC_SOURCE_MAX_MB", 2048)  # bytes one run downloads from one source
MLSEC_SOURCE_MAX_FILES = env_int("MLSEC_SOURCE_MAX_FILES", 20_000)  # files / objects of one source
MLSEC_SOURCE_TIMEOUT_S = env_int("MLSEC_SOURCE_TIMEOUT_S", 60)  # one network exchange
# Host keys of the Git servers ssh:// sources may reach (an OpenSSH known_hosts file the operator keeps);
# empty: the check workers' user's ~/.ssh/known_hosts. An unknown or changed key fails the fetch.
MLSEC_SOURCE_SSH_KNOWN_HOSTS = os.environ.get("MLSEC_SOURCE_SSH_KNOWN_HOSTS", "")
MLSEC_SOURCE_WORKSPACE_DIR = os.environ.get("MLSEC_SOURCE_WORKSPACE_DIR", "")  # default: the system's temp dir
MLSEC_WEBHOOK_URL = os.environ.get("MLSEC_WEBHOOK_URL", "")
MLSEC_RETENTION_DAYS = env_int("MLSEC_RETENTION_DAYS", 400)
MLSEC_EVIDENCE_REMINDER_DAYS = env_int("MLSEC_EVIDENCE_REMINDER_DAYS", 14)
MLSEC_ACCEPTANCE_REMINDER_DAYS = env_int("MLSEC_ACCEPTANCE_REMINDER_DAYS", 14)  # risk acceptances ending
# Outbox deliveries: tries before a row is given up (backoff 1, 2, 4 … minutes, at most 6 h apart).
MLSEC_NOTIFY_MAX_ATTEMPTS = env_int("MLSEC_NOTIFY_MAX_ATTEMPTS", 14)
MLSEC_NOTIFY_WEBHOOK_TIMEOUT_S = env_int("MLSEC_NOTIFY_WEBHOOK_TIMEOUT_S", 10)  # one whole webhook exchange
# The organisation-wide webhook for check events (docs/workflow.md); with a secret, signed like a team's.
MLSEC_WEBHOOK_SECRET = os.environ.get("MLSEC_WEBHOOK_SECRET", "")
MLSEC_ACTION_DUE_SOON_DAYS = env_int("MLSEC_ACTION_DUE_SOON_DAYS", 7)  # action.due this many days before
MLSEC_CAMPAIGN_REMINDER_DAYS = env_int("MLSEC_CAMPAIGN_REMINDER_DAYS", 7)  # campaign.reminder before the deadline
MLSEC_BASE_URL = os.environ.get("MLSEC_BASE_URL", "http://127.0.0.1:8000")
MLSEC_TRUST_PROXY = env_bool("MLSEC_TRUST_PROXY", False)
# API tokens (django-rest-knox, stored as digests): an absolute lifetime from issue, and an idle
# lifetime that each use extends, never past the absolute one (accounts/tokens.py reads these two).
MLSEC_TOKEN_TTL_HOURS = env_int("MLSEC_TOKEN_TTL_HOURS", 7 * 24)
MLSEC_TOKEN_IDLE_HOURS = env_int("MLSEC_TOKEN_IDLE_HOURS", 8)
KNOX_TOKEN_MODEL = "accounts.APIToken"  # noqa: S105 - a model name
# knox's own migrations would create its (swapped-out, unused) token table, whose foreign key to users
# then blocks PostgreSQL from truncating the user table: knox's only model is replaced, so no migrations.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",  # clients send `Authorization: Token <key>` (docs/security.md)
    "TOKEN_TTL": dt.timedelta(hours=min(MLSEC_TOKEN_IDLE_HOURS, MLSEC_TOKEN_TTL_HOURS)),
    "AUTO_REFRESH": True,
    "AUTO_REFRESH_MAX_TTL": dt.timedelta(hours=MLSEC_TOKEN_TTL_HOURS),
    "MIN_REFRESH_INTERVAL": 60,  # seconds: a token used in a loop is written at most once a minute
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "mlsec-portal@localhost")

# --- Security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("MLSEC_SESSION_AGE_S", 8 * 3600)
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# The admin never shows a TOTP key or QR code, nor recovery codes (audit/admin_secrets.py goes further).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

AXES_FAILURE_LIMIT = env_int("MLSEC_LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = env_int("MLSEC_LOCKOUT_MINUTES", 15) / 60  # hours
# Lock the username (and the username from one address), never an address alone: behind a proxy or
# a NAT one address is the whole organisation. Guessing across many usernames meets the throttles.
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "mlsec_portal.clientip.client_ip"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "otp"]  # masked in stored attempts
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_VERBOSE = False

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # plotly.js injects <style> elements at run time for its own layout; a nonce cannot cover
        # those, so styles alone allow 'unsafe-inline'. Scripts never do.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "mlsec_portal.logging.RequestContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_context"],
            "formatter": os.environ.get("MLSEC_LOG_FORMAT", "plain"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("MLSEC_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
