"""Frameworks as data: each framework's requirements (a hierarchy), their practices, and who they bind.

Loaded from the versioned files in frameworks/data by `frameworks.loader` (idempotently, like the
catalogue). `RequirementPractice` holds both the mappings written in the file (`direct`) and the ones a
requirement inherits from its descendants, so the database can aggregate a requirement in one join;
`Applicability` holds, for the EU AI Act, every role × risk class an article binds (inherited likewise).
"""

from __future__ import annotations

from django.db import models

from controls.models import Practice


class Framework(models.Model):
    """A framework at one version, e.g. NIST AI RMF 1.0; `key` is the API's (`nist-ai-rmf`)."""

    key = models.SlugField(max_length=40, unique=True)
    title = models.CharField(max_length=200)
    short_title = models.CharField(max_length=60)
    version = models.CharField(max_length=20)
    publisher = models.CharField(max_length=200, blank=True)
    source = models.TextField(blank=True)
    levels = models.JSONField(default=list, help_text="names of the hierarchy levels, outermost first")
    gated = models.BooleanField(default=False, help_text="requirements bind projects by their EU AI Act role and class")
    position = models.PositiveSmallIntegerField(default=0)
    file_name = models.CharField(max_length=100)
    file_sha256 = models.CharField(max_length=64)
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return f"{self.short_title} {self.version}"


class Requirement(models.Model):
    """One node of a framework's hierarchy: a function, category, article, control … with its identifier."""

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="requirements")
    ref = models.CharField(max_length=60)
    title = models.CharField(max_length=300)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    depth = models.PositiveSmallIntegerField(default=0)
    position = models.PositiveIntegerField(default=0, help_text="order in the file (depth first)")
    version = models.CharField(max_length=20, blank=True, help_text="when the identifier belongs to another release")
    note = models.TextField(blank=True)
    practices = models.ManyToManyField(Practice, through="RequirementPractice", related_name="requirements")

    class Meta:
        ordering = ["framework", "position"]
        constraints = [models.UniqueConstraint(fields=["framework", "ref"], name="requirement_unique_framework_ref")]

    def __str__(self) -> str:
        return f"{self.framework.key} {self.ref}"


class RequirementPractice(models.Model):
    """A practice behind a requirement: mapped in the data file (`direct`) or through a descendant."""

    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="practice_links")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="requirement_links")
    direct = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["requirement", "practice"], name="requirement_practice_unique")]
        indexes = [models.Index(fields=["practice", "requirement"], name="requirement_practice_idx")]

    def __str__(self) -> str:
        return f"{self.requirement} ← {self.practice.code}"


class Applicability(models.Model):
    """An EU AI Act role × risk class that a requirement binds (a row of the applicability table)."""

    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="applicability")
    role = models.CharField(max_length=24)
    risk_class = models.CharField(max_length=24)

    class Meta:
        verbose_name_plural = "applicability"
        constraints = [models.UniqueConstraint(fields=["requirement", "role", "risk_class"], name="applicability_unique")]
        indexes = [models.Index(fields=["role", "risk_class"], name="applicability_combination_idx")]

    def __str__(self) -> str:
        return f"{self.requirement} binds {self.role} × {self.risk_class}"
