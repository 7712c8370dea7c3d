"""ML projects, their self-assessments (one per cycle), the answers, and accepted risks."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone

from accounts.duties import independence_refusal, is_reviewer
from accounts.models import Team, slug_validator
from accounts.scope import ScopedQuerySet
from controls.models import Practice

from .choices import (
    EDITABLE_STATUSES,
    RISK_TIER_WEIGHTS,
    AcceptanceStatus,
    AiActRiskClass,
    AiActRole,
    AssessmentStatus,
    DataClassification,
    Lifecycle,
    RiskTier,
)
from .validators import (
    answer_is_answered,
    cycle_rank,
    cycle_start,
    validate_answer_applicability,
    validate_check_opt_outs,
    validate_check_targets,
    validate_cycle,
)

LEVEL_VALIDATORS = [MinValueValidator(0), MaxValueValidator(4)]


class ProjectQuerySet(ScopedQuerySet):
    team_path = "team"

    def active(self):
        return self.filter(archived_at__isnull=True)


class Project(models.Model):
    """An ML system owned by one team, with the targets its automated checks read."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=64, validators=[slug_validator],
                            help_text="Short address, lower-case letters, digits and hyphens.")
    description = models.TextField(blank=True, max_length=4000)
    risk_tier = models.CharField(max_length=8, choices=RiskTier.choices, default=RiskTier.MEDIUM,
                                 help_text="Weighs the project in its team's score (low 1 … critical 4).")
    lifecycle = models.CharField(max_length=12, choices=Lifecycle.choices, default=Lifecycle.DEVELOPMENT)
    data_classification = models.CharField(
        max_length=12, choices=DataClassification.choices, default=DataClassification.INTERNAL
    )
    check_targets = models.JSONField(default=dict, blank=True, validators=[validate_check_targets])
    check_opt_outs = models.JSONField(default=dict, blank=True, validators=[validate_check_opt_outs])
    # EU AI Act classification (docs/frameworks.md): which articles bind the project. Both or neither.
    ai_act_role = models.CharField(max_length=24, choices=AiActRole.choices, blank=True, default="")
    ai_act_risk_class = models.CharField(max_length=24, choices=AiActRiskClass.choices, blank=True, default="")
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [models.UniqueConstraint(fields=["team", "slug"], name="project_unique_team_slug")]
        indexes = [
            models.Index(fields=["team", "archived_at"], name="project_team_archived_idx"),
            # The dashboard's flag for prohibited AI practices: a handful of rows among 20,000 projects.
            models.Index(fields=["team"], condition=Q(ai_act_risk_class="prohibited", archived_at__isnull=True),
                         name="project_prohibited_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """File targets must lie inside the team's check directories (checks.confinement)."""
        super().clean()
        if self.team_id and isinstance(self.check_targets, dict):
            from checks.confinement import check_targets_validate

            check_targets_validate(team=self.team, targets=self.check_targets)

        if bool(self.ai_act_role) != bool(self.ai_act_risk_class):
            raise ValidationError({"ai_act_risk_class" if self.ai_act_role else "ai_act_role": [
                "Give both the EU AI Act role and the risk class, or neither."]})

    @property
    def is_prohibited_under_ai_act(self) -> bool:
        return self.ai_act_risk_class == AiActRiskClass.PROHIBITED

    @property
    def risk_weight(self) -> int:
        return RISK_TIER_WEIGHTS[self.risk_tier]

    def can_be_edited_by(self, user) -> bool:
        return user.is_org_admin or user.is_officer or user.is_lead_of(self.team_id)

    def can_be_archived_by(self, user) -> bool:
        # Archiving removes a project from every score, so a team cannot hide its own gaps.
        return user.is_org_admin or user.is_officer

    def can_run_checks(self, user) -> bool:
        return user.is_org_admin or user.is_officer or user.belongs_to(self.team_id)

    def can_start_assessment(self, user) -> bool:
        return user.belongs_to(self.team_id)

    def can_manage_actions(self, user) -> bool:
        """Open remediation actions (from a failing check too) and reassign them: the team's lead, officers and
        administrators."""
        return user.is_org_admin or user.is_officer or user.is_lead_of(self.team_id)

    def can_approve_baseline(self, user) -> bool:
        """Re-approve the model artifacts as they are now: the team's lead or a security officer (an active user:
        checked again on the worker, roles may change while the request waits)."""
        return bool(user and user.is_active and (user.is_officer or user.is_lead_of(self.team_id)))


class AssessmentQuerySet(ScopedQuerySet):
    team_path = "project__team"

    def with_completion(self):
        """Annotate `answered` and `total` (answers) so `completion` needs no extra query."""
        answered = Q(answers__level__isnull=False, answers__not_applicable=False) | Q(
            answers__not_applicable=True, answers__justification__gt=""
        )
        return self.annotate(total_answers=Count("answers"), answered_answers=Count("answers", filter=answered))

    def open(self):
        return self.exclude(status=AssessmentStatus.APPROVED)

    def current_approved(self):
        """The approved assessments that count now: one per project (a database constraint)."""
        return self.filter(status=AssessmentStatus.APPROVED, superseded_at__isnull=True)

    def review_queue(self):
        return self.filter(status=AssessmentStatus.SUBMITTED).order_by("submitted_at")


class Assessment(models.Model):
    """A project's self-assessment for one cycle: draft → submitted → approved, or returned."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="assessments")
    cycle = models.CharField(max_length=10, validators=[validate_cycle])
    status = models.CharField(max_length=10, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT)
    catalog_version = models.CharField(max_length=20)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True, max_length=4000)
    # Set when a newer assessment of the same project is approved: the approved assessment that
    # counts at time T is the one with reviewed_at <= T < superseded_at (or superseded_at null).
    superseded_at = models.DateTimeField(null=True, blank=True)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["project", "cycle"], name="assessment_unique_project_cycle"),
            # One truth per project: at most one approved assessment that is not superseded (a partial
            # unique index on SQLite and PostgreSQL alike). The approval service also locks the project row.
            models.UniqueConstraint(
                fields=["project"], condition=Q(status=AssessmentStatus.APPROVED, superseded_at__isnull=True),
                name="assessment_one_current_approved",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "reviewed_at", "superseded_at"], name="assessment_scoring_idx"),
            models.Index(fields=["project", "status"], name="assessment_project_status_idx"),
            models.Index(fields=["-created_at"], name="assessment_created_idx"),  # the assessments list
            # The review queue, oldest first: its first page without sorting every submitted assessment.
            models.Index(fields=["submitted_at"], condition=Q(status=AssessmentStatus.SUBMITTED),
                         name="assessment_review_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.cycle}"

    @property
    def badge(self) -> str:
        return AssessmentStatus.badge_for(self.status)

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    def is_newer_cycle_than(self, other: Assessment) -> bool:
        return cycle_rank(self.cycle) > cycle_rank(other.cycle)

    @property
    def completion(self) -> int:
        total = getattr(self, "total_answers", None)
        answered = getattr(self, "answered_answers", None)
        if total is None:
            answers = list(self.answers.all())
            total, answered = len(answers), sum(a.is_answered for a in answers)
        return round(100 * answered / total) if total else 0

    def team_role_of(self, user) -> str | None:
        return user.role_in(self.project.team_id)

    def can_be_edited_by(self, user) -> bool:
        return user.belongs_to(self.project.team_id)

    def can_be_submitted_by(self, user) -> bool:
        return user.is_lead_of(self.project.team_id)

    def can_be_reviewed_by(self, user) -> bool:
        return self.review_refusal(user) is None

    def is_in_reviewers_own_team(self, user) -> bool:
        """An officer who belongs to the team now: the review queue says why another officer reviews it."""
        return is_reviewer(user) and user.belongs_to(self.project.team_id)

    def review_refusal(self, user) -> str | None:
        """Why `user` may not approve or return this assessment (None: they may).

        Separation of duties (accounts/duties.py): an officer who submitted it, or who was in the
        team at any time from the start of its cycle, or from its creation if earlier, until now,
        never reviews it.
        """
        since = min(cycle_start(self.cycle), self.created_at) if self.created_at else cycle_start(self.cycle)
        return independence_refusal(user, team_id=self.project.team_id, authors=[self.submitted_by_id],
                                    since=since, work="this assessment")


class AnswerQuerySet(ScopedQuerySet):
    team_path = "assessment__project__team"


# What a team writes in an answer: the assessment form, the API (`AnswerSerializer`), `answer_update`, the
# copy into a new cycle and campaigns read this one list.
ANSWER_FIELDS = ("level", "not_applicable", "justification", "notes", "owner", "target_level", "due_date")


class Answer(models.Model):
    """One practice's answer in an assessment: a level 0–4, or not applicable with a justification."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="answers")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="answers")
    level = models.PositiveSmallIntegerField(null=True, blank=True, validators=LEVEL_VALIDATORS)
    not_applicable = models.BooleanField(default=False)
    justification = models.TextField(blank=True, max_length=4000)
    notes = models.TextField(blank=True, max_length=8000)
    owner = models.CharField(max_length=120, blank=True)
    # The person of the team who owns the gap: set from `owner` when it names a team member (its
    # username); remediation actions are assigned to this user (docs/workflow.md).
    owner_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="owned_answers")
    target_level = models.PositiveSmallIntegerField(null=True, blank=True, validators=LEVEL_VALIDATORS)
    due_date = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    objects = AnswerQuerySet.as_manager()

    class Meta:
        ordering = ["practice__number"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "practice"], name="answer_unique_assessment_practice"),
            models.CheckConstraint(
                condition=Q(level__isnull=True) | Q(level__gte=0, level__lte=4), name="answer_level_range"
            ),
            models.CheckConstraint(
                condition=Q(not_applicable=False) | Q(level__isnull=True), name="answer_na_has_no_level"
            ),
        ]
        indexes = [models.Index(fields=["practice", "assessment"], name="answer_practice_assessment_idx")]

    def __str__(self) -> str:
        return f"{self.assessment} {self.practice.code}"

    def clean(self) -> None:
        super().clean()
        validate_answer_applicability(not_applicable=self.not_applicable, level=self.level,
                                      justification=self.justification)

    @property
    def is_answered(self) -> bool:
        return answer_is_answered(not_applicable=self.not_applicable, level=self.level,
                                  justification=self.justification)


class RiskAcceptanceQuerySet(ScopedQuerySet):
    team_path = "project__team"

    def in_force(self, on: dt.date):
        return self.filter(status=AcceptanceStatus.APPROVED, expires_on__gte=on)


class RiskAcceptance(models.Model):
    """A project × practice gap that an officer accepted for a while, with the reason why."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="risk_acceptances")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="risk_acceptances")
    justification = models.TextField(max_length=4000)
    expires_on = models.DateField()
    status = models.CharField(max_length=10, choices=AcceptanceStatus.choices, default=AcceptanceStatus.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, max_length=4000)

    objects = RiskAcceptanceQuerySet.as_manager()

    class Meta:
        ordering = ["-proposed_at"]
        indexes = [models.Index(fields=["status", "expires_on"], name="acceptance_status_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.project} {self.practice.code} accepted until {self.expires_on}"

    def can_be_proposed_by(self, user) -> bool:
        return user.is_lead_of(self.project.team_id)

    @property
    def is_expired(self) -> bool:
        return self.status == AcceptanceStatus.APPROVED and self.expires_on < timezone.localdate()

    @property
    def badge(self) -> str:
        return "neutral" if self.is_expired else AcceptanceStatus.badge_for(self.status)

    @property
    def is_decided(self) -> bool:
        """Approved or rejected: final, through the services and the admin alike."""
        return self.status != AcceptanceStatus.PROPOSED

    def can_be_decided_by(self, user) -> bool:
        return self.decision_refusal(user) is None

    def decision_refusal(self, user) -> str | None:
        """Why `user` may not approve or reject this acceptance: its proposer, or anyone in the team since it was proposed."""
        since = self.proposed_at or timezone.now()
        return independence_refusal(user, team_id=self.project.team_id, authors=[self.proposed_by_id], since=since,
                                    work="this risk acceptance")

