"""Delivering the outbox: claim a row, send it, record the outcome; retry with backoff; daily digests.

At-least-once, never twice on purpose: a row is claimed with a conditional UPDATE (only one worker
wins), marked sent right after the receiver accepted it, and never claimed again once sent. A worker
that dies between sending and recording leaves the row `sending`; the sweep hands it out again after
SENDING_TIMEOUT, and its unchanged `key` (Message-ID, `X-MLSec-Delivery`) lets the receiver drop it.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Team
from checks.runners.netguard import GuardError

from . import channels
from .choices import Channel, OutboxStatus
from .models import OutboxMessage

log = logging.getLogger(__name__)

SENDING_TIMEOUT = dt.timedelta(minutes=10)
SWEEP_BATCH = 500


def max_attempts() -> int:
    return settings.MLSEC_NOTIFY_MAX_ATTEMPTS


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 … minutes after each failure, at most 6 hours: a day-long outage costs ~12 tries."""
    return dt.timedelta(minutes=min(2 ** max(0, attempts - 1), 360))


def coarse_reason(exc: BaseException) -> str:
    """What a failure is called in the outbox and the log: never a URL, an address, a secret or a body."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"mail server answered {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "mail server refused the recipient"
    if isinstance(exc, channels.DeliveryFailed | GuardError):
        return str(exc)[:300]
    return f"{type(exc).__name__}"


def _claim(message_id: int, now: dt.datetime) -> bool:
    return bool(OutboxMessage.objects.filter(pk=message_id, status=OutboxStatus.PENDING, next_attempt_at__lte=now)
                .update(status=OutboxStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1))


def no_longer_sees(recipient, dispatch, seen: dict[int, set[int]] | None = None) -> bool:
    """True when a person chosen for a team's event has since lost sight of that team (left it, was
    deprovisioned from it, lost the role that saw every team): what was queued for them is not sent.

    `seen` remembers each person's visible teams across calls (one query per person, not per message:
    a digest of fifty parts)."""
    if dispatch is None or dispatch.team_id is None:
        return False
    if seen is None:
        return not Team.objects.visible_to(recipient).filter(pk=dispatch.team_id).exists()
    if recipient.pk not in seen:
        seen[recipient.pk] = set(Team.objects.visible_to(recipient).values_list("pk", flat=True))
    return dispatch.team_id not in seen[recipient.pk]


def _unsendable(message: OutboxMessage) -> str | None:
    if message.channel == Channel.EMAIL:
        if message.recipient is None or not message.recipient.is_active or not message.recipient.email:
            return "the recipient has no active account with an e-mail address"
        if no_longer_sees(message.recipient, message.dispatch):
            return "the recipient no longer sees the team"
    elif message.team_channel_id is None:
        if not settings.MLSEC_WEBHOOK_URL:
            return "the organisation's webhook was removed"
    elif not message.team_channel.active:
        return "the channel was switched off"
    return None


def _digest_still_visible(message: OutboxMessage) -> str | None:
    """A digest retried after an outage is rebuilt from the parts its reader still sees (someone may have
    left a team since it was folded); with none left it is not sent."""
    if message.dispatch_id or message.channel != Channel.EMAIL or message.recipient is None:
        return None
    parts = list(message.parts.select_related("dispatch").order_by("dispatch__created_at", "pk"))
    if not parts:
        return None
    seen: dict[int, set[int]] = {}
    visible = [part for part in parts if not no_longer_sees(message.recipient, part.dispatch, seen)]
    if not visible:
        return "the recipient no longer sees the teams of this digest"
    if len(visible) != len(parts):
        message.subject, message.body = _digest_text(visible)
        OutboxMessage.objects.filter(pk=message.pk).update(subject=message.subject, body=message.body)
    return None


def deliver(message_id: int, *, now: dt.datetime | None = None) -> bool:
    """Send one due row if this worker wins it; True when it was sent now."""
    now = now or timezone.now()
    if not _claim(message_id, now):
        return False
    message = OutboxMessage.objects.select_related(
        "dispatch__team", "recipient", "team_channel").get(pk=message_id)
    claimed = OutboxMessage.objects.filter(pk=message_id, status=OutboxStatus.SENDING)
    refusal = _unsendable(message) or _digest_still_visible(message)
    if refusal:
        claimed.update(status=OutboxStatus.FAILED, last_error=refusal)
        return False
    try:
        channels.send(message)
    except Exception as exc:  # noqa: BLE001 - any failure of a receiver is retried, never raised into the worker
        reason = coarse_reason(exc)
        gave_up = message.attempts >= max_attempts()
        claimed.update(status=OutboxStatus.FAILED if gave_up else OutboxStatus.PENDING, last_error=reason,
                       next_attempt_at=now + backoff(message.attempts))
        log.warning("notification #%s via %s failed (attempt %s%s): %s", message.pk, message.channel,
                    message.attempts, ", giving up" if gave_up else "", reason)
        return False
    claimed.update(status=OutboxStatus.SENT, sent_at=timezone.now(), last_error="")
    return True


def deliver_due(*, now: dt.datetime | None = None) -> int:
    """The retry loop: hand back rows a dead worker left `sending`, then send every row that is due."""
    now = now or timezone.now()
    OutboxMessage.objects.filter(status=OutboxStatus.SENDING, claimed_at__lt=now - SENDING_TIMEOUT).update(
        status=OutboxStatus.PENDING)
    due = list(OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:SWEEP_BATCH])
    return sum(deliver(pk, now=now) for pk in due)


# --- daily digests --------------------------------------------------------------------------------

def _digest_text(parts: list[OutboxMessage]) -> tuple[str, str]:
    subject = f"{len(parts)} notification{'s' if len(parts) != 1 else ''} since your last digest"
    lines = []
    for part in parts:
        d = part.dispatch
        lines += [f"- {d.created_at:%Y-%m-%d %H:%M} UTC · {d.title}", f"  {d.url}"]
    return subject, "What happened in the MLSec Portal:\n\n" + "\n".join(lines)


def send_digests(*, now: dt.datetime | None = None) -> int:
    """Fold each person's held e-mails into one message (written, then delivered like any other)."""
    now = now or timezone.now()
    held = (OutboxMessage.objects.filter(status=OutboxStatus.HELD, channel=Channel.EMAIL, created_at__lte=now)
            .select_related("dispatch", "recipient").order_by("recipient_id", "dispatch__created_at", "pk"))
    by_person: dict[int, list[OutboxMessage]] = {}
    dropped = []
    seen: dict[int, set[int]] = {}
    for part in held:
        if part.recipient is not None and no_longer_sees(part.recipient, part.dispatch, seen):
            dropped.append(part.pk)  # a team the person has left since: not folded into their digest
            continue
        by_person.setdefault(part.recipient_id, []).append(part)
    OutboxMessage.objects.filter(pk__in=dropped, status=OutboxStatus.HELD).update(
        status=OutboxStatus.FAILED, last_error="the recipient no longer sees the team")
    digests = []
    for recipient_id, parts in by_person.items():
        subject, body = _digest_text(parts)
        with transaction.atomic():
            digest = OutboxMessage.objects.create(channel=Channel.EMAIL, recipient_id=recipient_id, subject=subject,
                                                  body=body, next_attempt_at=now, created_at=now)
            # Only rows still held: a second digest job racing this one folds nothing twice.
            taken = OutboxMessage.objects.filter(pk__in=[p.pk for p in parts], status=OutboxStatus.HELD).update(
                status=OutboxStatus.DIGESTED, folded_into=digest)
            if taken != len(parts):
                transaction.set_rollback(True)
                continue
        digests.append(digest.pk)
    for pk in digests:
        deliver(pk, now=now)
    return len(digests)
