"""Celery tasks: thin wrappers that take ids and call the services."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError

from . import services
from .runners.base import CheckTimedOut

log = logging.getLogger(__name__)


@shared_task(
    bind=True, name="checks.tasks.run_check_task", acks_late=True, reject_on_worker_lost=True,
    autoretry_for=(OperationalError,), retry_backoff=5, retry_backoff_max=120, retry_jitter=True, max_retries=4,
)
def run_check_task(self, run_id: int) -> str:
    """Run one queued check.

    The run is claimed under this task's id: a retry after a transient database fault, or a
    redelivery of this message, resumes the run it claimed (and a different task finds it taken).
    Only database faults are retried (with back-off); anything the check itself meets (an
    unreachable endpoint, an unparseable file) is a result, not a retry. A run whose team is at
    its concurrency cap goes back to the queue, behind the other teams' runs.
    """
    try:
        run = services.claim_run(run_id, task_id=self.request.id or "")
    except services.TeamAtCapacity:
        if not self.request.is_eager:  # run eagerly (the tests), a re-queue would run at once, forever
            services.defer_run(run_id)
        return "deferred"
    if run is None:
        return f"run {run_id} not queued (already claimed, finished or reaped)"
    try:
        result = services.execute_run(run)
    except OperationalError:
        raise  # retried: the retry resumes this run
    except (SoftTimeLimitExceeded, CheckTimedOut):  # outside the runner (a fetch, the database): no result to store
        services.record_error(run_id, f"time limit of {run.definition.timeout_s} s exceeded: the check could not decide")
        return "error"
    except Exception as exc:  # noqa: BLE001 - one check's crash never stops the worker or other checks
        log.exception("check run %s crashed", run_id)
        services.record_error(run_id, f"check crashed: {type(exc).__name__}")
        return "error"
    return services.finish_run(run, result).status


@shared_task(name="checks.tasks.approve_baseline_task", acks_late=True, autoretry_for=(OperationalError,),
             retry_backoff=5, max_retries=3)
def approve_baseline_task(approval_id: int) -> str:
    """Hash a project's model artifacts and store them as its approved baseline (never in a web request)."""
    try:
        approval = services.baseline_approval_execute(approval_id)
    except OperationalError:
        raise
    except Exception as exc:  # noqa: BLE001 - the request must end, with a reason, whatever happened
        log.exception("baseline approval %s crashed", approval_id)
        services.baseline_approval_fail(approval_id, f"hashing crashed ({type(exc).__name__})")
        return "failed"
    return approval.status if approval else "not queued"


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
