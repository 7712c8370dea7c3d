"""Evidence for a project's practice: files (encrypted at rest), links, notes, and check results."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.duties import independence_refusal
from accounts.scope import ScopedQuerySet
from assessments.models import Answer, Project
from controls.models import Practice
from mlsec_portal.choices import BadgeChoices


class EvidenceKind(models.TextChoices):
    FILE = "file", "File"
    LINK = "link", "Link"
    NOTE = "note", "Note"
    CHECK = "check", "Automated check result"


class EvidenceStatus(BadgeChoices):
    PENDING = "pending", "Pending review"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"

    __badges__ = {"pending": "neutral", "accepted": "success", "rejected": "danger"}


class EvidenceQuerySet(ScopedQuerySet):
    team_path = "project__team"

    def visible_to(self, user):
        """A project's evidence to its team; a team's shared evidence to that team and to the teams whose
        projects it is linked to; the organisation's shared evidence to everyone signed in (it is the
        organisation's own policy, meant to be linked); everything to the organisation-wide roles."""
        from accounts.scope import member_team_ids

        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.sees_everything:
            return self
        teams = member_team_ids(user)
        linked = EvidenceLink.objects.filter(evidence_id=models.OuterRef("pk"), project__team__in=teams,
                                             unlinked_at__isnull=True)
        return self.filter(Q(project__team__in=teams) | Q(project__isnull=True, team__in=teams)
                           | Q(project__isnull=True, team__isnull=True) | models.Exists(linked))

    def shared(self):
        return self.filter(project__isnull=True)

    def current(self):
        """The newest version of each piece of evidence."""
        return self.filter(superseded_at__isnull=True)

    def as_of(self, moment: dt.datetime):
        """Evidence as it stood at `moment`: stored by then and not yet superseded."""
        return self.filter(created_at__lte=moment).filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=moment))

    def expiring_between(self, start: dt.date, end: dt.date):
        return self.current().exclude(status=EvidenceStatus.REJECTED).filter(valid_until__gte=start, valid_until__lte=end)


class Evidence(models.Model):
    """One immutable piece of evidence; a change is a new version that supersedes this one."""

    # A project's own evidence has `project`; shared evidence has none and belongs to `team`, or to the
    # organisation when `team` is empty too; it counts for the projects it is linked to (EvidenceLink).
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="shared_evidence")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="evidence")
    answer = models.ForeignKey(Answer, null=True, blank=True, on_delete=models.SET_NULL, related_name="evidence")
    kind = models.CharField(max_length=5, choices=EvidenceKind.choices)
    title = models.CharField(max_length=200)
    url = models.URLField(max_length=2048, blank=True)
    text = models.TextField(blank=True, max_length=20000)
    # Files: stored encrypted under MEDIA_ROOT with a random name; metadata describes the plaintext.
    storage_name = models.CharField(max_length=200, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    size = models.PositiveBigIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    check_run = models.ForeignKey(
        "checks.CheckRun", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    version = models.PositiveIntegerField(default=1)
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_version"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    # What the evidence speaks about, apart from when it was stored: the day it is valid from ("as of")
    # and the period it observed (e.g. an audit of January to March, issued in April).
    effective_on = models.DateField(null=True, blank=True)
    observed_from = models.DateField(null=True, blank=True)
    observed_until = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=EvidenceStatus.choices, default=EvidenceStatus.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True, max_length=4000)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "evidence"
        indexes = [
            models.Index(fields=["project", "practice", "superseded_at"], name="evidence_scope_idx"),
            models.Index(fields=["status", "valid_until"], name="evidence_status_valid_idx"),
            # "Expiring soon" (dashboard, digests) reads current evidence by date: a range scan, not the table.
            models.Index(fields=["valid_until"], condition=Q(superseded_at__isnull=True), name="evidence_current_valid_idx"),
        ]
        constraints = [
            # A project's evidence, or a team's, or the organisation's: never two owners.
            models.CheckConstraint(condition=Q(project__isnull=True) | Q(team__isnull=True),
                                   name="evidence_one_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"

    @staticmethod
    def can_be_added_by(user, project: Project | None, *, team=None) -> bool:
        """Store (or replace) evidence: a project's, or a team's shared evidence, by that team's people; the
        organisation's (neither project nor team) by officers and administrators."""
        if project is not None:
            return user.belongs_to(project.team_id)
        if team is not None:
            return user.belongs_to(team.pk)
        return user.is_officer or user.is_org_admin

    def can_be_reviewed_by(self, user) -> bool:
        """Separation of duties (accounts/duties.py): not its uploader, nor in the team since it was uploaded."""
        return independence_refusal(user, team_id=self.owning_team_id, authors=[self.uploaded_by_id],
                                    since=self.created_at, work="this evidence") is None

    def can_be_linked_by(self, user, project: Project) -> bool:
        """Link this shared evidence to `project` (or unlink it): the project's team links its own team's documents
        and the organisation's; officers and administrators link the organisation's documents to any project."""
        if self.team_id is not None:
            return self.team_id == project.team_id and user.belongs_to(project.team_id)
        return user.belongs_to(project.team_id) or user.is_officer or user.is_org_admin

    @property
    def badge(self) -> str:
        return EvidenceStatus.badge_for(self.status)

    @property
    def download_name(self) -> str:
        """The name a download carries: its extension follows the detected type (even for files stored
        before upload names were made to follow it), so text never downloads as `.html`."""
        from .storage import name_for_type

        return name_for_type(self.original_name or f"evidence-{self.pk}", self.content_type)

    def is_stale(self, on: dt.date) -> bool:
        return self.valid_until is not None and self.valid_until < on

    @property
    def scope(self) -> str:
        return "project" if self.project_id else ("team" if self.team_id else "organisation")

    @property
    def owning_team_id(self) -> int | None:
        """The team whose people store and replace it (None: the organisation's, kept by officers)."""
        return self.project.team_id if self.project_id else self.team_id

    @property
    def dated_on(self) -> dt.date:
        """The day the evidence speaks for: its effective date, else the day it was stored."""
        return self.effective_on or self.created_at.date()


class EvidenceLink(models.Model):
    """Shared evidence counting for one project × practice, from `linked_at` until `unlinked_at`.

    Links belong to one version; a new version of the document carries the open links over, so
    replacing it updates every project at once and an export as of an earlier day still finds the old one.
    """

    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="links")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="evidence_links")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField()
    unlinked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project__name", "practice__number"]
        constraints = [models.UniqueConstraint(fields=["evidence", "project", "practice"], name="evidence_link_unique_open",
                                               condition=Q(unlinked_at__isnull=True))]
        indexes = [models.Index(fields=["project", "practice"], name="evidence_link_scope_idx")]

    def __str__(self) -> str:
        return f"{self.evidence} → {self.project} {self.practice.code}"
