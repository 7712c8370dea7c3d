"""WSGI entry point for gunicorn: `gunicorn mlsec_portal.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsec_portal.settings.local")
application = get_wsgi_application()
