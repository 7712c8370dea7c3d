"""Only for `collectstatic` while building the container image: production's static storage, no secrets.

The image must not carry secrets, and production refuses to start without them; collecting static
files needs neither the database nor any key.
"""

from .base import *  # noqa: F403

SECRET_KEY = "collectstatic-only"  # noqa: S105 - never serves a request  # pragma: allowlist secret
DEBUG = False
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
