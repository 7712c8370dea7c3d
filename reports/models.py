"""Export jobs: an auditor asks for a scope, a point in time and a format; a worker builds the file."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Team
from accounts.scope import member_team_ids
from assessments.models import Project
from mlsec_portal.choices import BadgeChoices

from .renderers.registry import format_choices, get_format


class ReportScope(models.TextChoices):
    ORG = "org", "Organisation"
    TEAM = "team", "Team"
    PROJECT = "project", "Project"


class ReportStatus(BadgeChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"

    __badges__ = {"queued": "neutral", "running": "info", "ready": "success", "failed": "danger"}


class ReportQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Officers, auditors and administrators see every report; others see the ones they asked for,
        and only while the scope is still theirs: a lead who left the team no longer downloads its export
        (nor sees it listed), and an organisation export needs an organisation-wide role today."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.sees_everything:
            return self
        teams = member_team_ids(user)
        return self.filter(requested_by=user).filter(
            Q(scope=ReportScope.TEAM, team__in=teams) | Q(scope=ReportScope.PROJECT, project__team__in=teams))


class Report(models.Model):
    """One export: stored encrypted like evidence, downloaded through an authorising view."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(max_length=8, choices=ReportScope.choices)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField(null=True, blank=True, help_text="empty: as of the moment it is built")
    # The registered export formats (reports/renderers/registry.py): adding one needs no migration.
    format = models.CharField(max_length=12, choices=format_choices)
    status = models.CharField(max_length=8, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    storage_name = models.CharField(max_length=200, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["requested_by", "created_at"], name="report_requester_idx")]

    def __str__(self) -> str:
        return f"{self.get_format_display()} of {self.scope_label} ({self.status})"

    @property
    def badge(self) -> str:
        return ReportStatus.badge_for(self.status)

    @property
    def scope_label(self) -> str:
        if self.scope == ReportScope.PROJECT and self.project_id:
            return self.project.name
        if self.scope == ReportScope.TEAM and self.team_id:
            return self.team.name
        return "Organisation"

    @property
    def content_type(self) -> str:
        return get_format(self.format).content_type
