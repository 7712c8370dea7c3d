from celery import shared_task

from .services import send_action_reminders as _send


@shared_task(name="actions.tasks.send_action_reminders", acks_late=True)
def send_action_reminders() -> dict:
    return _send()
