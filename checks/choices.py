from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Error"
    SKIPPED = "skipped", "Skipped"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
# Only a decided run (passed or failed) replaces the previous verdict; error and skipped say nothing.
DECIDED_STATUSES = (RunStatus.PASSED, RunStatus.FAILED)
FINISHED_STATUSES = (RunStatus.PASSED, RunStatus.FAILED, RunStatus.ERROR, RunStatus.SKIPPED)
STATUS_BADGES = {"queued": "neutral", "running": "info", "passed": "success", "failed": "danger",
                 "error": "warning", "skipped": "neutral"}


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "On demand"
