from django.db import models

from mlsec_portal.choices import BadgeChoices


class RiskTier(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# Weight of a project's score in its team's mean (docs/scoring.md, "The rules").
RISK_TIER_WEIGHTS = {RiskTier.LOW: 1, RiskTier.MEDIUM: 2, RiskTier.HIGH: 3, RiskTier.CRITICAL: 4}


class Lifecycle(models.TextChoices):
    RESEARCH = "research", "Research"
    DEVELOPMENT = "development", "Development"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"
    RETIRED = "retired", "Retired"


class DataClassification(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"


class AssessmentStatus(BadgeChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    RETURNED = "returned", "Returned"
    APPROVED = "approved", "Approved"

    __badges__ = {"draft": "neutral", "submitted": "info", "returned": "warning", "approved": "success"}


EDITABLE_STATUSES = frozenset({AssessmentStatus.DRAFT, AssessmentStatus.RETURNED})
OPEN_STATUSES = frozenset({AssessmentStatus.DRAFT, AssessmentStatus.SUBMITTED, AssessmentStatus.RETURNED})


class AcceptanceStatus(BadgeChoices):
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"

    # An approved acceptance past its expiry shows as neutral (`RiskAcceptance.badge`).
    __badges__ = {"proposed": "warning", "approved": "info", "rejected": "danger"}


class AiActRole(models.TextChoices):
    """The project's operator role under the EU AI Act (Article 3); empty: not classified yet."""

    PROVIDER = "provider", "Provider"
    DEPLOYER = "deployer", "Deployer"
    IMPORTER = "importer", "Importer"
    DISTRIBUTOR = "distributor", "Distributor"
    PRODUCT_MANUFACTURER = "product-manufacturer", "Product manufacturer"


class AiActRiskClass(models.TextChoices):
    """The project's class under the EU AI Act; empty: not classified yet (docs/frameworks.md)."""

    PROHIBITED = "prohibited", "Prohibited practice (Article 5)"
    HIGH_RISK = "high-risk", "High-risk AI system (Article 6)"
    LIMITED_RISK = "limited-risk", "Transparency obligations (Article 50)"
    MINIMAL_RISK = "minimal-risk", "Minimal risk"
    GPAI = "gpai", "General-purpose AI model (Article 53)"
    GPAI_SYSTEMIC = "gpai-systemic", "General-purpose AI model with systemic risk (Article 55)"
