"""Settings for the test suite: fast hashing, eager-free Celery, MFA off unless a test turns it on."""

import secrets
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet

from .base import *  # noqa: F403
from .base import DATABASES, REST_FRAMEWORK, VAR_DIR
from .secrets import local_signing_key

SECRET_KEY = "test-only-not-secret"  # noqa: S105  # pragma: allowlist secret
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MLSEC_REQUIRE_MFA = False
# One key per test session, inherited by the worker processes the integration tests start.
MLSEC_EVIDENCE_KEYS = [os.environ.setdefault("MLSEC_TEST_EVIDENCE_KEY", Fernet.generate_key().decode())]  # noqa: F405
MLSEC_SIGNING_KEY = local_signing_key(VAR_DIR / "test")
MLSEC_AUDIT_KEYS = [os.environ.setdefault("MLSEC_TEST_AUDIT_KEY", secrets.token_urlsafe(48))]  # noqa: F405
MLSEC_AUDIT_STRICT = True  # an audit event outside the transaction of its change fails the test (audit_record)
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="mlsec-test-media-"))
# One check root per test session (inherited by the workers the integration tests start); each
# team's files go under <root>/<team-slug>/ (the `team_dir` fixture). The runners' unit tests
# pass their own roots. The tests' servers listen on 127.0.0.1, which the checks may reach.
MLSEC_CHECK_ROOTS = [os.environ.setdefault("MLSEC_TEST_CHECK_ROOT", tempfile.mkdtemp(prefix="mlsec-test-check-roots-"))]  # noqa: F405
MLSEC_CHECK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
# locmem for the test process; a worker a test starts may be pointed at the SMTP sink (tests/servers).
EMAIL_BACKEND = os.environ.get("MLSEC_TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")  # noqa: F405
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

# Each test process gets its own broker (an xdist worker runs its own Celery worker: they must not
# take each other's messages). A Celery worker the integration tests start is told the exact broker.
_xdist = os.environ.get("PYTEST_XDIST_WORKER", "")  # noqa: F405
if os.environ.get("MLSEC_TEST_BROKER_EXACT"):  # noqa: F405
    CELERY_BROKER_URL = os.environ["MLSEC_TEST_BROKER_EXACT"]  # noqa: F405
    _test_broker_dir = os.environ.get("MLSEC_TEST_BROKER_DIR", "")  # noqa: F405
elif os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):  # noqa: F405
    # redis://host:port/15 → database 15 for the first test process, 14 for gw1, …
    _base, _, _db = os.environ["CELERY_BROKER_URL"].rpartition("/")  # noqa: F405
    _index = int(_xdist[2:]) if _xdist.startswith("gw") and _xdist[2:].isdigit() else 0
    CELERY_BROKER_URL = f"{_base}/{max(0, (int(_db) if _db.isdigit() else 15) - _index)}"
    _test_broker_dir = ""
else:
    _test_broker_dir = tempfile.mkdtemp(prefix=f"mlsec-test-broker-{_xdist or 'main'}-")
    CELERY_BROKER_URL = "mlsecfs://localhost//"
# Celery reads the CELERY_BROKER_URL environment variable before this setting (celery/app/utils.py,
# Settings.broker_url): left at the shared value, every test process and every worker it starts would
# publish to and consume from one Redis database, taking each other's messages.
if CELERY_BROKER_URL.startswith("redis"):
    os.environ["CELERY_BROKER_URL"] = CELERY_BROKER_URL  # noqa: F405
if _test_broker_dir:
    os.environ["MLSEC_TEST_BROKER_DIR"] = _test_broker_dir  # noqa: F405
    os.makedirs(os.path.join(_test_broker_dir, "processed"), exist_ok=True)  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _test_broker_dir, "data_folder_out": _test_broker_dir,
        "processed_folder": os.path.join(_test_broker_dir, "processed"), "store_processed": False,  # noqa: F405
        "control_folder": os.path.join(_test_broker_dir, "control"),  # noqa: F405
    }
