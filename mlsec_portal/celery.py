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
    undumpable (PR_SET_DUMPABLE 0), so a parser taken over can neither read its memory and environment (the
    database URL, the keys) nor trace it; its pool children are forked from it and inherit that. Each
    process that starts a sandboxed child does the same for itself first (checks/runners/sandbox.py)."""
    import ctypes

    if ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "the worker could not make itself undumpable (prctl PR_SET_DUMPABLE)")
