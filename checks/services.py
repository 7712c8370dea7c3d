"""Check definitions, runs and their effects on evidence, scores and notifications."""

from __future__ import annotations

from django.db import transaction

from controls.models import Practice

from .models import CheckDefinition
from .registry import registry


@transaction.atomic
def sync_check_definitions(using: str = "default") -> None:
    """Mirror the code registry in the database (titles, limits, covered practices)."""
    practices = {p.code: p for p in Practice.objects.using(using).all()}
    for key, check in registry().items():
        definition, _ = CheckDefinition.objects.using(using).update_or_create(
            key=key,
            defaults={
                "title": check.title, "description": check.description, "timeout_s": check.time_limit_s,
                "heavy": check.heavy, "default_schedule": check.default_schedule,
            },
        )
        definition.practices.set([practices[c] for c in check.practices if c in practices])


def failing_checks(user):
    """The current failing verdicts in `user`'s scope, newest first (one query)."""
    from .choices import RunStatus
    from .models import CheckRun

    return (
        CheckRun.objects.visible_to(user)
        .filter(status=RunStatus.FAILED, superseded_at__isnull=True, project__archived_at__isnull=True)
        .select_related("project__team", "definition")
        .order_by("-finished_at")
    )
