"""Constants of the frameworks app: the Statement of Applicability's implementation statuses."""

from django.db import models


class ImplementationStatus(models.TextChoices):
    """How far a control is implemented, from its readiness (docs/frameworks.md, "Statement of Applicability")."""

    IMPLEMENTED = "implemented", "Implemented"
    PARTIAL = "partially-implemented", "Partially implemented"
    NOT_IMPLEMENTED = "not-implemented", "Not implemented"
    NOT_ASSESSED = "not-assessed", "Not assessed"
    NOT_APPLICABLE = "not-applicable", "Not applicable"
    NOT_COVERED = "not-covered", "Not covered by the catalogue"


# Readiness at or above this is "implemented" (level 3 of 4: measured and reported); above 0 "partially".
IMPLEMENTED_FROM = 75.0

# CSS modifier of each status badge, kept beside the statuses.
STATUS_BADGES = {
    "implemented": "success", "partially-implemented": "warning", "not-implemented": "danger",
    "not-assessed": "neutral", "not-applicable": "neutral", "not-covered": "info",
}

# The framework whose Annex A controls make up the Statement of Applicability.
SOA_FRAMEWORK = "iso-42001"
SOA_ROOT = "Annex A"
# The framework gated by the projects' EU AI Act role and risk class.
AI_ACT = "eu-ai-act"
