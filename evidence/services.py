"""Evidence: storing, versioning, reviewing and finding what expires."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from .models import Evidence


def evidence_expiring(user, *, days: int = 30):
    """Current, non-rejected evidence in `user`'s scope whose validity ends within `days` (one query)."""
    today = timezone.localdate()
    return (
        Evidence.objects.visible_to(user)
        .expiring_between(today, today + dt.timedelta(days=days))
        .select_related("project__team", "practice")
        .order_by("valid_until", "pk")
    )
