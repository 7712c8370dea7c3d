"""Celery tasks: thin wrappers around notifications.outbox and notifications.reminders."""

from __future__ import annotations

from celery import shared_task

from . import outbox, reminders


@shared_task(name="notifications.tasks.deliver_messages", acks_late=True)
def deliver_messages(ids: list[int]) -> int:
    """Send the rows a change just wrote; a row that fails is retried by `deliver_due` with backoff."""
    return sum(outbox.deliver(pk) for pk in ids)


@shared_task(name="notifications.tasks.deliver_due", acks_late=True)
def deliver_due() -> int:
    return outbox.deliver_due()


@shared_task(name="notifications.tasks.send_digests", acks_late=True)
def send_digests() -> int:
    return outbox.send_digests()


@shared_task(name="notifications.tasks.send_daily_reminders", acks_late=True)
def send_daily_reminders() -> int:
    return reminders.send_daily_reminders()
