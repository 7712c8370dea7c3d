"""Reconciliation of the rollup with the full recomputation, and the midnight expiry of time-bound inputs."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from . import rollup

log = logging.getLogger("scoring.reconcile")
EXPIRY_LOOKBACK_DAYS = 7  # a missed night or two is caught up by the next run


def alert(differences: list[rollup.Difference], *, repaired: bool = False) -> None:
    """Tell people the rollup disagrees with the recomputation: an audit event and an error in the log.

    The single place an alert leaves from: point it at the notifications app when it exists.
    """
    from audit.services import audit_record

    sample = [str(d) for d in differences[:20]]
    log.error("score rollup disagrees with the recomputation in %d cell field(s): %s", len(differences),
              "; ".join(sample))
    with transaction.atomic():
        audit_record(actor=None, action="scores.reconcile_mismatch", object_type="scoring.rollup",
                     object_id="scorecard", object_repr="score rollup",
                     after={"differences": len(differences), "sample": sample, "repaired": repaired})


def reconcile(*, repair: bool = False) -> list[rollup.Difference]:
    """Compare every cell; alert on any difference; with `repair`, rebuild the rollup afterwards."""
    found = rollup.differences()
    if found:
        if repair:
            rollup.rebuild()
        alert(found, repaired=repair)
    else:
        log.info("score rollup agrees with the recomputation")
    return found


def expire(*, today: dt.date | None = None) -> int:
    """At midnight, evidence and risk acceptances whose day has passed change scores without any write:
    refresh the projects that have one ending within the last few days. Returns the projects refreshed."""
    from assessments.models import RiskAcceptance
    from evidence.models import Evidence, EvidenceLink

    today = today or timezone.localdate()
    since = today - dt.timedelta(days=EXPIRY_LOOKBACK_DAYS)
    ended = Evidence.objects.exclude(kind="check").filter(valid_until__gte=since, valid_until__lt=today)
    projects = set(ended.filter(project__isnull=False).values_list("project_id", flat=True))
    projects |= set(EvidenceLink.objects.filter(evidence__in=ended.filter(project__isnull=True))
                    .values_list("project_id", flat=True))  # shared evidence: every project it is linked to
    projects |= set(RiskAcceptance.objects.filter(expires_on__gte=since, expires_on__lt=today)
                    .values_list("project_id", flat=True))
    with transaction.atomic():
        rollup.refresh_projects(projects)
    return len(projects)
