"""Constants of the frameworks app: the Statement of Applicability's implementation statuses."""

from mlsec_portal.choices import BadgeChoices


class ImplementationStatus(BadgeChoices):
    """How far a control is implemented, from its readiness (docs/frameworks.md, "Statement of Applicability")."""

    IMPLEMENTED = "implemented", "Implemented"
    PARTIAL = "partially-implemented", "Partially implemented"
    NOT_IMPLEMENTED = "not-implemented", "Not implemented"
    NOT_ASSESSED = "not-assessed", "Not assessed"
    NOT_APPLICABLE = "not-applicable", "Not applicable"
    NOT_COVERED = "not-covered", "Not covered by the catalogue"

    __badges__ = {
        "implemented": "success", "partially-implemented": "warning", "not-implemented": "danger",
        "not-assessed": "neutral", "not-applicable": "neutral", "not-covered": "info",
    }


# Readiness at or above this is "implemented" (level 3 of 4: measured and reported); above 0 "partially".
IMPLEMENTED_FROM = 75.0

# The framework whose Annex A controls make up the Statement of Applicability.
SOA_FRAMEWORK = "iso-42001"
SOA_ROOT = "Annex A"
# The framework gated by the projects' EU AI Act role and risk class.
AI_ACT = "eu-ai-act"
