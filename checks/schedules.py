"""The schedules in force for the checks, read by the checks page and the checks API alike."""


def schedules_by_check() -> dict[str, str]:
    """The crontab in force for each check's periodic task (editable in the admin)."""
    from django_celery_beat.models import PeriodicTask

    result = {}
    for task in PeriodicTask.objects.filter(name__startswith="Check: ").select_related("crontab"):
        cron = task.crontab
        if cron is not None:
            key = task.name.removeprefix("Check: ")
            spec = f"{cron.minute} {cron.hour} {cron.day_of_month} {cron.month_of_year} {cron.day_of_week}"
            result[key] = spec if task.enabled else f"disabled ({spec})"
    return result
