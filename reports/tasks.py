from celery import shared_task

from .services import report_build


@shared_task(name="reports.tasks.build_report_task", acks_late=True, time_limit=1800, soft_time_limit=1780)
def build_report_task(report_id: str) -> str:
    report = report_build(report_id)
    return report.status if report else "not queued"
