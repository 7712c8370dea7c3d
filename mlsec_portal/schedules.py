"""Default periodic tasks, stored in the database (django-celery-beat) so they can be changed in the
admin without a deploy. Created when missing after `migrate`; never overwritten once they exist."""

from __future__ import annotations

import json


def _crontab(spec: str):
    from django_celery_beat.models import CrontabSchedule

    minute, hour, day_of_month, month_of_year, day_of_week = spec.split()
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year, day_of_week=day_of_week,
        timezone="UTC",
    )
    return schedule


def default_schedules() -> list[tuple[str, str, str, list]]:
    """(name, task, crontab, args) for every periodic job of the portal."""
    from checks.registry import registry

    jobs = [
        ("Score snapshot", "scoring.tasks.snapshot_scores_task", "55 * * * *", []),
        ("Score expiry at midnight", "scoring.tasks.expire_scores_task", "0 0 * * *", []),
        ("Score reconciliation", "scoring.tasks.reconcile_scores_task", "15 2 * * *", []),
        ("Reap stale check runs", "checks.tasks.reap_stale_runs", "*/5 * * * *", []),
        ("Reap stuck exports", "reports.reap_stale_reports", "*/5 * * * *", []),
        # Evidence expiring and expired, risk acceptances ending (replaces "Evidence expiry reminders").
        ("Daily notification reminders", "notifications.tasks.send_daily_reminders", "0 7 * * *", []),
        ("Notification digests", "notifications.tasks.send_digests", "0 8 * * *", []),
        ("Deliver and retry notifications", "notifications.tasks.deliver_due", "* * * * *", []),
        ("Remediation action reminders", "actions.tasks.send_action_reminders", "0 6 * * *", []),
        ("Campaign reminders and escalations", "campaigns.tasks.campaign_reminders", "5 6 * * *", []),
        ("Seal waiting audit events", "audit.tasks.seal_audit_events", "* * * * *", []),
        # The check runs only (the name is kept: installed databases have this row under it).
        ("Prune old runs and snapshots", "checks.tasks.prune_history", "30 4 * * *", []),
        ("Prune old score snapshots", "scoring.tasks.prune_snapshots_task", "35 4 * * *", []),
        ("Rescan models after scanner upgrades", "checks.tasks.rescan_models_after_upgrade", "20 5 * * *", []),
        ("Sync sources (new model versions and objects)", "sources.tasks.sync_sources", "*/15 * * * *", []),
    ]
    for key, check in sorted(registry().items()):
        jobs.append((f"Check: {key}", "checks.tasks.run_scheduled_check", check.default_schedule, [key]))
    return jobs


def ensure_default_schedules(using: str = "default") -> int:
    from django_celery_beat.models import PeriodicTask

    created = 0
    for name, task, spec, args in default_schedules():
        if PeriodicTask.objects.using(using).filter(name=name).exists():
            continue
        PeriodicTask.objects.using(using).create(name=name, task=task, crontab=_crontab(spec), args=json.dumps(args))
        created += 1
    return created
