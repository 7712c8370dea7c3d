"""Celery tasks: thin wrappers that take ids and call the services."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError

from . import services

log = logging.getLogger(__name__)


@shared_task(
    name="checks.tasks.run_check_task", acks_late=True, reject_on_worker_lost=True,
    autoretry_for=(OperationalError,), retry_backoff=5, retry_backoff_max=120, retry_jitter=True, max_retries=4,
)
def run_check_task(run_id: int) -> str:
    """Run one queued check. Idempotent: a redelivered message finds the run already claimed and stops.

    Only transient database faults are retried (with back-off); anything the check itself meets
    (an unreachable endpoint, an unparseable file) is a result, not a retry.
    """
    run = services.claim_run(run_id)
    if run is None:
        return f"run {run_id} not queued (already claimed, finished or reaped)"
    try:
        result = services.execute_run(run)
    except SoftTimeLimitExceeded:
        services.record_error(run_id, f"time limit of {run.definition.timeout_s} s exceeded: the check could not decide")
        return "error"
    except Exception as exc:  # noqa: BLE001 - one check's crash never stops the worker or other checks
        log.exception("check run %s crashed", run_id)
        services.record_error(run_id, f"check crashed: {type(exc).__name__}")
        return "error"
    return services.finish_run(run, result).status


@shared_task(name="checks.tasks.run_scheduled_check", acks_late=True)
def run_scheduled_check(key: str) -> int:
    """One check's schedule (django-celery-beat): queue it on every project it applies to."""
    return services.dispatch_scheduled(key)


@shared_task(name="checks.tasks.reap_stale_runs", acks_late=True)
def reap_stale_runs() -> int:
    return services.reap_stale_runs()


@shared_task(name="checks.tasks.prune_history", acks_late=True)
def prune_history() -> dict:
    return services.prune_history(retention_days=settings.MLSEC_RETENTION_DAYS)




@shared_task(name="checks.tasks.rescan_models_after_upgrade", acks_late=True)
def rescan_models_after_upgrade() -> dict:
    """After a scanner or allow-list upgrade: rescan current model artifacts and report changed verdicts."""
    from .rescan import rescan_after_upgrade

    return rescan_after_upgrade().as_dict()
