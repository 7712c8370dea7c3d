"""`make demo`: the embedded local setup as a visitor should meet it, without Django's debug pages.

A wrong address shows the portal's own "page not found", never the URL patterns and settings that
DEBUG prints. `DJANGO_DEBUG=1 make demo` brings the debug pages back for development.

Static files are served as production serves them: `scripts/demo.sh` collects them into
`var/static/` with hashed names and gzip and brotli copies, which WhiteNoise sends with immutable
caching (docs/deployment.md, "Static files"). With DJANGO_DEBUG=1 they come from the source tree.
"""

import os
from pathlib import Path

from .base import VAR_DIR, env_bool
from .local import *  # noqa: F403

DEBUG = env_bool("DJANGO_DEBUG", False)
WHITENOISE_AUTOREFRESH = DEBUG  # without DEBUG, WhiteNoise indexes the static files once at start-up
WHITENOISE_USE_FINDERS = DEBUG
STATIC_ROOT = Path(os.environ.get("MLSEC_STATIC_ROOT", VAR_DIR / "static"))
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
