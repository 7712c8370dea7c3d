"""Celery tasks of the ingest app: thin, they take an upload id and call the services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from . import services

log = logging.getLogger(__name__)
BUSY_RETRY_S = 30


@shared_task(bind=True, name="ingest.tasks.process_results_task", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError,), retry_backoff=5, retry_backoff_max=120, max_retries=20)
def process_results_task(self, upload_id: int) -> str:
    """Process one uploaded report. A check running on the project right now: try again shortly."""
    try:
        item = services.results_process(upload_id)
    except services.CheckBusy as busy:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            services.results_fail(upload_id, f"the {busy} check stayed busy on this project; upload the report again")
            return "busy"
        raise self.retry(countdown=BUSY_RETRY_S) from None
    except OperationalError:
        raise
    except Exception as exc:  # never leave an upload `processing` forever; the detail names the failure kind
        log.exception("results upload %s failed", upload_id)
        services.results_fail(upload_id, f"processing failed ({type(exc).__name__}); the portal's logs have the cause")
        return "failed"
    return item.status if item is not None else "not queued"
