"""Celery tasks: thin wrappers that take ids and call the services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


@shared_task(name="sources.tasks.sync_project_task", acks_late=True, autoretry_for=(OperationalError,),
             retry_backoff=5, max_retries=3, soft_time_limit=1800, time_limit=1860)
def sync_project_task(project_id: int) -> int:
    """"Sync now" for one project: new model versions and objects listed and scanned."""
    from assessments.models import Project

    from .assets import project_sync

    project = Project.objects.filter(pk=project_id, archived_at__isnull=True).select_related("team").first()
    return len(project_sync(project)) if project else 0


@shared_task(name="sources.tasks.sync_sources", acks_late=True, autoretry_for=(OperationalError,),
             retry_backoff=5, max_retries=3, soft_time_limit=3300, time_limit=3400)
def sync_sources() -> int:
    """The beat schedule: every remote source of every active project."""
    from .assets import source_sync_guarded
    from .choices import REMOTE_KINDS
    from .models import Source

    new = 0
    for source in (Source.objects.filter(kind__in=REMOTE_KINDS, project__archived_at__isnull=True)
                   .select_related("project__team").iterator(chunk_size=200)):
        new += len(source_sync_guarded(source))
    return new
