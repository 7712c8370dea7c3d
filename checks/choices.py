from django.db import models

from mlsec_portal.choices import BadgeChoices


class RunStatus(BadgeChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Error"
    SKIPPED = "skipped", "Skipped"

    __badges__ = {"queued": "neutral", "running": "info", "passed": "success", "failed": "danger",
                  "error": "warning", "skipped": "neutral"}


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
# Only a decided run (passed or failed) replaces the previous verdict; error and skipped say nothing.
DECIDED_STATUSES = (RunStatus.PASSED, RunStatus.FAILED)
FINISHED_STATUSES = (RunStatus.PASSED, RunStatus.FAILED, RunStatus.ERROR, RunStatus.SKIPPED)


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "On demand"
    RESCAN = "rescan", "Rescan after a scanner or policy upgrade"
    # Results the portal did not run itself (ingest app): trust is shown wherever a run appears.
    PIPELINE = "pipeline", "Pushed by a pipeline"
    UPLOAD = "upload", "Report uploaded by a person"


class AllowanceKind(models.TextChoices):
    PICKLE_GLOBAL = "pickle-global", "Pickle global (module.name)"
    ONNX_DOMAIN = "onnx-domain", "ONNX operator domain"


class SignerKind(models.TextChoices):
    KEY = "key", "Public key (PEM)"
    CERTIFICATE = "certificate", "Certificate chain (PEM)"
