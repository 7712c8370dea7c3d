"""Production: every secret from the environment, HTTPS everywhere, refuses to start half-configured."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import MLSEC_AUDIT_KEYS, MLSEC_EVIDENCE_KEYS, MLSEC_SIGNING_KEY, env_bool, env_int
from .startup import secret_problems

_REQUIRED = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "MLSEC_EVIDENCE_KEY", "MLSEC_SIGNING_KEY", "MLSEC_AUDIT_KEY",
             "DATABASE_URL")
_missing = [name for name in _REQUIRED if not os.environ.get(name, "").strip()]  # noqa: F405
if _missing:
    raise ImproperlyConfigured(
        "mlsec_portal.settings.production refuses to start without: " + ", ".join(_missing)
    )
# Placeholders copied from .env.example, keys that do not parse: refuse now, naming the variable.
_problems = secret_problems(os.environ)  # noqa: F405
if _problems:
    raise ImproperlyConfigured("mlsec_portal.settings.production refuses to start: " + "; ".join(_problems))

DEBUG = False
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]  # noqa: F405
assert MLSEC_EVIDENCE_KEYS and MLSEC_SIGNING_KEY and MLSEC_AUDIT_KEYS  # noqa: S101 - guaranteed by _REQUIRED above

SECURE_SSL_REDIRECT = env_bool("MLSEC_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("MLSEC_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
LOGGING["handlers"]["console"]["formatter"] = os.environ.get("MLSEC_LOG_FORMAT", "json")  # noqa: F405
