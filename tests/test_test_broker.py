"""Each test process has a broker of its own, and Celery really uses it.

Celery prefers the CELERY_BROKER_URL environment variable to the Django setting; when the test
settings picked a Redis database per xdist worker without exporting it, every process still
published to (and every worker it started consumed from) the shared one, and the real-worker tests
took each other's messages."""
import os

from django.conf import settings


def test_celery_publishes_to_the_broker_the_settings_chose():
    from mlsec_portal.celery import app

    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    # Whatever a subprocess inherits (a worker, `celery purge`) names the same broker.
    if os.environ.get("CELERY_BROKER_URL"):
        assert os.environ["CELERY_BROKER_URL"] == settings.CELERY_BROKER_URL

