"""The Celery app `mlsec_portal`: `celery -A mlsec_portal worker` / `celery -A mlsec_portal beat`."""

import os

from celery import Celery

from .broker import register as register_embedded_broker

register_embedded_broker()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsec_portal.settings.local")

app = Celery("mlsec_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
