"""The daily reminders: evidence expiring and expired, risk acceptances ending.

Each object is reminded once per event (the dispatch's `dedupe_key`), so running the job twice in a
day, or on two workers, tells nobody twice. The rows are delivered at once after the job commits.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assessments.models import RiskAcceptance
from evidence.models import Evidence, EvidenceKind, EvidenceStatus

from . import outbox
from .choices import OutboxStatus
from .models import OutboxMessage
from .services import notify

#: Evidence that expired longer ago than this is not announced (a first run on old data stays quiet).
EXPIRED_LOOKBACK_DAYS = 30


def _remind(event: str, items, today: dt.date) -> list[int]:
    dispatched = []
    for item in items:
        dispatch = notify(event, obj=item, dedupe_key=f"{event}:{item.pk}", context={"on": today})
        if dispatch is not None:
            dispatched.append(dispatch.pk)
    return dispatched


def evidence_expiring(today: dt.date, days: int):
    return (Evidence.objects.expiring_between(today, today + dt.timedelta(days=days)).exclude(kind=EvidenceKind.CHECK)
            .select_related("project__team", "practice").order_by("valid_until", "pk"))


def evidence_expired(today: dt.date):
    return (Evidence.objects.current().exclude(kind=EvidenceKind.CHECK).exclude(status=EvidenceStatus.REJECTED)
            .filter(valid_until__lt=today, valid_until__gte=today - dt.timedelta(days=EXPIRED_LOOKBACK_DAYS))
            .select_related("project__team", "practice").order_by("valid_until", "pk"))


def acceptances_ending(today: dt.date, days: int):
    return (RiskAcceptance.objects.in_force(today).filter(expires_on__lte=today + dt.timedelta(days=days))
            .select_related("project__team", "practice").order_by("expires_on", "pk"))


def send_evidence_expiring(*, today: dt.date | None = None, days: int | None = None) -> int:
    today = today or timezone.localdate()
    days = settings.MLSEC_EVIDENCE_REMINDER_DAYS if days is None else days
    with transaction.atomic():
        items = list(evidence_expiring(today, days))
        sent = _remind("evidence.expiring", items, today)
        Evidence.objects.filter(pk__in=[e.pk for e in items], reminder_sent_at__isnull=True).update(
            reminder_sent_at=timezone.now())
    _deliver(sent)
    return len(sent)


def send_daily_reminders(*, today: dt.date | None = None) -> int:
    """Every daily reminder; the number of objects announced."""
    today = today or timezone.localdate()
    count = send_evidence_expiring(today=today)
    with transaction.atomic():
        sent = _remind("evidence.expired", evidence_expired(today), today)
        sent += _remind("acceptance.expiring", acceptances_ending(today, settings.MLSEC_ACCEPTANCE_REMINDER_DAYS), today)
    _deliver(sent)
    return count + len(sent)


def _deliver(dispatch_ids: list[int]) -> None:
    """Deliver right away (the job's rows are committed by now); the sweep retries what fails."""
    pending = OutboxMessage.objects.filter(dispatch_id__in=dispatch_ids, status=OutboxStatus.PENDING)
    for pk in pending.values_list("pk", flat=True):
        outbox.deliver(pk)
