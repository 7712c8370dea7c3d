"""Constants of the ingest app: report formats, upload states, origins, the checks an import becomes."""

from django.db import models

from mlsec_portal.choices import BadgeChoices


class ReportFormat(models.TextChoices):
    SARIF = "sarif", "SARIF 2.1.0"
    CYCLONEDX = "cyclonedx", "CycloneDX 1.5/1.6 JSON"
    MODELSCAN = "modelscan", "modelscan JSON"
    FICKLING = "fickling", "fickling --json-output"
    PICKLESCAN = "picklescan", "picklescan output"
    GARAK = "garak", "garak report.jsonl"
    OCSF = "ocsf", "OCSF Compliance Finding (class 2003)"
    IN_TOTO = "in-toto", "in-toto Test Result attestation"


class UploadStatus(BadgeChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    # Read, but it scanned nothing (a SARIF log without runs, an SBOM without components, a scan of no file):
    # no run, no finding closed; the gate does not count it as a scan (docs/ci.md, "The gate").
    EMPTY = "empty", "Empty (nothing was scanned)"

    __badges__ = {"queued": "info", "processing": "info", "done": "success", "failed": "warning", "empty": "warning"}


class Origin(BadgeChoices):
    """Who produced a result: shown wherever it appears, so trust is visible."""

    PIPELINE = "pipeline", "Pushed by a pipeline (ingest token)"
    PERSON = "person", "Uploaded by a person"

    __badges__ = {"pipeline": "info", "person": "neutral"}


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed (absent from a later upload)"


SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
SEVERITIES = tuple(SEVERITY_RANK)

MODEL_SCAN_FORMATS = (ReportFormat.MODELSCAN, ReportFormat.FICKLING, ReportFormat.PICKLESCAN)

# Checks that exist only as imports (no runner of the portal's own): title, practices, description.
IMPORTED_CHECKS = {
    "imported-garak": ("LLM red-team (garak, imported)", ("MLS-12", "MLS-18", "MLS-20"),
                       "garak probes and detectors run by the team's pipeline: input validation, output "
                       "auditing and continuous testing. Fails when a probe's detector records failing attempts."),
    "imported-ocsf": ("Compliance findings (OCSF, imported)", ("MLS-08",),
                      "OCSF Compliance Finding events (class 2003) pushed by a pipeline or a posture tool. "
                      "Fails when a control's compliance status is Fail."),
    "imported-in-toto": ("Test results (in-toto, imported)", ("MLS-20",),
                         "in-toto Test Result attestations from the team's pipeline. Fails on a FAILED result."),
}
IMPORTED_SCHEDULE = "pushed by pipelines"
