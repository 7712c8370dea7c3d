from celery import shared_task

from .services import campaign_reminders as _remind


@shared_task(name="campaigns.tasks.campaign_reminders", acks_late=True)
def campaign_reminders() -> dict:
    return _remind()
