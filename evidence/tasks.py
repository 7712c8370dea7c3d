from celery import shared_task

from .services import send_expiry_reminders as _send


@shared_task(name="evidence.tasks.send_expiry_reminders", acks_late=True)
def send_expiry_reminders() -> int:
    return _send()
