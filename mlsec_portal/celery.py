"""The Celery app `mlsec_portal`: `celery -A mlsec_portal worker` / `celery -A mlsec_portal beat`."""

import os

from celery import Celery
from celery.signals import worker_init

from .broker import register as register_embedded_broker

register_embedded_broker()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsec_portal.settings.local")

app = Celery("mlsec_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def protect_the_worker(**kwargs) -> None:
    """The worker runs sandboxed parsers of hostile files as its own user: before it starts, make it
    undumpable, so a parser taken over can neither read its memory and environment (the database URL,
    the keys) nor trace it; its pool children are forked from it and inherit that (checks/runners/sandbox.py)."""
    from checks.runners.sandbox import protect_process

    protect_process()
