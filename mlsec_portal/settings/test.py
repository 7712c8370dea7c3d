"""Settings for the test suite: fast hashing, eager-free Celery, MFA off unless a test turns it on."""

import tempfile
from pathlib import Path

from cryptography.fernet import Fernet

from .base import *  # noqa: F403
from .base import DATABASES, REST_FRAMEWORK, VAR_DIR
from .secrets import local_signing_key

SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MLSEC_REQUIRE_MFA = False
MLSEC_EVIDENCE_KEYS = [Fernet.generate_key().decode()]
MLSEC_SIGNING_KEY = local_signing_key(VAR_DIR / "test")
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="mlsec-test-media-"))
MLSEC_CHECK_ROOTS = [tempfile.gettempdir()]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
AXES_ENABLED = True
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "10000/minute", "user": "10000/minute", "token": "10000/minute"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so a real Celery worker started by the integration tests shares it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}  # noqa: F405
WHITENOISE_AUTOREFRESH = True
