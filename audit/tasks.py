from celery import shared_task

from .services import seal_pending


@shared_task(name="audit.tasks.seal_audit_events", ignore_result=True)
def seal_audit_events() -> int:
    """Chain audit events whose writer's process died between its commit and sealing them (every minute)."""
    return seal_pending()
