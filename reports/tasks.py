from celery import shared_task

from .services import TIME_LIMIT_S, reap_stale_reports, report_build


@shared_task(name="reports.tasks.build_report_task", acks_late=True, time_limit=TIME_LIMIT_S,
             soft_time_limit=TIME_LIMIT_S - 20)
def build_report_task(report_id: str) -> str:
    report = report_build(report_id)
    return report.status if report else "not queued"


# Named outside `reports.tasks.*` so it is routed to the maintenance queue: it must run even when no
# worker consumes the reports queue (that is one of the things it reports).
@shared_task(name="reports.reap_stale_reports", acks_late=True)
def reap_stale_reports_task() -> int:
    return reap_stale_reports()
