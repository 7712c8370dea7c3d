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
# One key per test session, inherited by the worker processes the integration tests start.
MLSEC_EVIDENCE_KEYS = [os.environ.setdefault("MLSEC_TEST_EVIDENCE_KEY", Fernet.generate_key().decode())]  # noqa: F405
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

if not os.environ.get("CELERY_BROKER_URL"):  # noqa: F405
    # Never the demo's broker folder: a demo worker must not consume test tasks. A worker the
    # integration tests start receives the same folder through MLSEC_TEST_BROKER_DIR.
    _test_broker = os.environ.setdefault("MLSEC_TEST_BROKER_DIR", tempfile.mkdtemp(prefix="mlsec-test-broker-"))  # noqa: F405
    os.makedirs(os.path.join(_test_broker, "processed"), exist_ok=True)  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _test_broker, "data_folder_out": _test_broker,
        "processed_folder": os.path.join(_test_broker, "processed"), "store_processed": False,  # noqa: F405
    }
