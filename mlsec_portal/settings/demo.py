"""`make demo`: the embedded local setup as a visitor should meet it, without Django's debug pages.

A wrong address shows the portal's own "page not found", never the URL patterns and settings that
DEBUG prints. `DJANGO_DEBUG=1 make demo` brings the debug pages back for development.
"""

from .base import env_bool
from .local import *  # noqa: F403

DEBUG = env_bool("DJANGO_DEBUG", False)
WHITENOISE_AUTOREFRESH = DEBUG  # without DEBUG, WhiteNoise indexes the static files once at start-up
