"""Periodic scoring work (thin: the logic is in services)."""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from mlsec_portal.dbmaint import refresh_planner_statistics

from .models import ScoreSnapshot
from .services import prune_snapshots, snapshot_scores


@shared_task(name="scoring.tasks.snapshot_scores_task", acks_late=True)
def snapshot_scores_task() -> int:
    """Snapshot today (again: the last run of the day wins) and fill a missed yesterday."""
    refresh_planner_statistics()
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    written = 0
    if not ScoreSnapshot.objects.filter(day=yesterday).exists():
        written += snapshot_scores(day=yesterday)
    return written + snapshot_scores(day=today)


@shared_task(name="scoring.tasks.expire_scores_task", acks_late=True)
def expire_scores_task() -> int:
    """Just after midnight: evidence and acceptances that ended yesterday change today's scores."""
    from .reconcile import expire

    return expire()


@shared_task(name="scoring.tasks.reconcile_scores_task", acks_late=True)
def reconcile_scores_task() -> int:
    """Nightly: compare the rollup with the full recomputation, alert on any difference (and repair it)."""
    from .reconcile import reconcile

    return len(reconcile(repair=True))


@shared_task(name="scoring.tasks.prune_snapshots_task", acks_late=True)
def prune_snapshots_task() -> int:
    return prune_snapshots(retention_days=settings.MLSEC_RETENTION_DAYS)
