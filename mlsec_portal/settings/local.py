"""The embedded default: SQLite and a file-system Celery broker under `var/`, throwaway secrets."""

from .base import *  # noqa: F403
from .base import (
    BASE_DIR,
    MLSEC_AUDIT_KEYS,
    MLSEC_CHECK_ROOTS,
    MLSEC_EVIDENCE_KEYS,
    MLSEC_SIGNING_KEY,
    VAR_DIR,
    env_bool,
)
from .secrets import local_audit_key, local_evidence_key, local_secret_key, local_signing_key

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or local_secret_key(VAR_DIR)  # noqa: F405
MLSEC_EVIDENCE_KEYS = MLSEC_EVIDENCE_KEYS or [local_evidence_key(VAR_DIR)]
MLSEC_SIGNING_KEY = MLSEC_SIGNING_KEY or local_signing_key(VAR_DIR)
MLSEC_AUDIT_KEYS = MLSEC_AUDIT_KEYS or [local_audit_key(VAR_DIR)]
# The demo's check targets live under check-targets/<team-slug>/ (git-ignored). Never the project
# folder itself: it holds var/ (the keys, the database), which no check may read.
MLSEC_CHECK_ROOTS = MLSEC_CHECK_ROOTS or [str(BASE_DIR / "check-targets")]
# Links in e-mails and exports name the address the demo serves (scripts/demo.sh passes PORT).
MLSEC_BASE_URL = os.environ.get("MLSEC_BASE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"  # noqa: F405
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = True
