"""WSGI entry point for gunicorn: `gunicorn mlsec_portal.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsec_portal.settings.local")
application = get_wsgi_application()


def _load_urls() -> None:
    """Import every view now rather than on the first request, and leave no database connection open.

    gunicorn imports this module once in its master (`preload_app`, gunicorn.conf.py) and forks the
    workers from it: a worker recycled after `max_requests` starts at once with everything loaded (the
    URL configuration alone, with the SCIM server's models, costs about a second of CPU), and its first
    request waits for nothing. A connection opened here would be shared by every fork, so none may stay.
    """
    from django.db import connections
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the property imports mlsec_portal.urls and every view
    connections.close_all()


_load_urls()
