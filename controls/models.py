"""The catalogue of ML security practices and their mappings to established frameworks."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

MATURITY_LEVELS = range(0, 5)


def validate_levels(value) -> None:
    """A rubric is exactly five one-line summaries for levels 0 to 4, in order."""
    if not isinstance(value, list) or len(value) != 5:
        raise ValidationError("A rubric needs exactly five levels (0 to 4).")
    for expected, item in zip(MATURITY_LEVELS, value, strict=True):
        if not isinstance(item, dict) or item.get("level") != expected:
            raise ValidationError(f"Level {expected} is missing or out of order.")
        summary = item.get("summary")
        if not isinstance(summary, str) or not summary.strip() or "\n" in summary or len(summary) > 300:
            raise ValidationError(f"Level {expected} needs a one-line summary of at most 300 characters.")


class Framework(models.Model):
    """An external framework at one version; identifiers are stored with the version they belong to."""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    version = models.CharField(max_length=20)

    class Meta:
        ordering = ["name", "version"]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class PracticeQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def for_catalogue(self):
        """Practices with their mappings and frameworks: two queries whatever the size."""
        return self.order_by("number").prefetch_related(
            models.Prefetch("mappings", queryset=PracticeMapping.objects.select_related("framework"))
        )


class Practice(models.Model):
    """One practice (MLS-01 … MLS-25, or an organisation's own ORG-nn) with its maturity rubric."""

    code = models.CharField(
        max_length=12, unique=True, validators=[RegexValidator(r"^(MLS|ORG)-\d{2,3}$", "Codes look like MLS-01 or ORG-01.")]
    )
    number = models.PositiveSmallIntegerField(unique=True)
    title = models.CharField(max_length=120)
    category = models.CharField(max_length=60)
    description = models.TextField(max_length=4000)
    weight = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1), MaxValueValidator(5)])
    levels = models.JSONField(validators=[validate_levels])
    evidence_guidance = models.TextField(blank=True, max_length=4000)
    not_applicable_hint = models.TextField(blank=True, max_length=1000)
    is_custom = models.BooleanField(default=False, help_text="Added by the organisation, not from the catalogue file.")
    is_active = models.BooleanField(default=True)
    catalog_version = models.CharField(max_length=20)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PracticeQuerySet.as_manager()

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @staticmethod
    def can_be_created_by(user) -> bool:
        """Add the organisation's own practices (ORG-nn) to the catalogue: administrators."""
        return bool(user is not None and user.is_org_admin)

    def level_summary(self, level: int | None) -> str:
        for item in self.levels or []:
            if item.get("level") == level:
                return item.get("summary", "")
        return ""


class PracticeMapping(models.Model):
    """A practice's link to one framework identifier, e.g. NIST AI RMF 1.0 `MEASURE 2.7`."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="mappings")
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="mappings")
    ref = models.CharField(max_length=60)
    title = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["framework__name", "ref"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "framework", "ref"], name="mapping_unique_practice_framework_ref")
        ]

    def __str__(self) -> str:
        return f"{self.practice.code} → {self.framework.key} {self.ref}"


class CatalogRelease(models.Model):
    """Each distinct catalogue file loaded; the newest is the version new assessments record."""

    version = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    loaded_at = models.DateTimeField(auto_now=True)
    practice_count = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["-loaded_at"]
        get_latest_by = "loaded_at"

    def __str__(self) -> str:
        return f"catalogue {self.version}"

    @classmethod
    def current_version(cls) -> str:
        """The newest loaded version; remembered for a minute (it changes only with `load_catalog`)."""
        now = time.monotonic()
        cached = _VERSION_CACHE.get("value")
        if cached is not None and now - _VERSION_CACHE["at"] < 60:
            return cached
        latest = cls.objects.order_by("-loaded_at").values_list("version", flat=True).first() or "unloaded"
        if latest != "unloaded":
            _VERSION_CACHE.update(value=latest, at=now)
        return latest

    @staticmethod
    def forget_cached_version() -> None:
        _VERSION_CACHE.clear()


_VERSION_CACHE: dict = {}
