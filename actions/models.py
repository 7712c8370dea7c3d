"""Remediation actions: a gap (an answer below its target, or a failing check) with an owner and a due date."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.scope import ScopedQuerySet
from assessments.models import Answer, Project
from controls.models import Practice

from .choices import OPEN_STATUSES, ActionSource, ActionStatus

# A fixed order (a frozenset's is not): the constraints' conditions, and so the migration, stay the same.
OPEN_ORDERED = sorted(OPEN_STATUSES)


class ActionQuerySet(ScopedQuerySet):
    team_path = "project__team"

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, today: dt.date):
        return self.open().filter(due_on__lt=today)

    def for_lists(self):
        return self.select_related("project__team", "practice", "owner", "check_definition")


class Action(models.Model):
    """One gap on one project × practice, tracked until an approval or a check verdict closes it.

    Answers open actions when their assessment is approved below target; failing checks open them when
    they cap an approved level or when an officer or lead promotes the failure. At most one open action
    per project × practice × origin (database constraints), so approvals and re-runs update, never duplicate.
    """

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="actions")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="actions")
    source = models.CharField(max_length=8, choices=ActionSource.choices)
    answer = models.ForeignKey(Answer, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    check_definition = models.ForeignKey("checks.CheckDefinition", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="actions")
    check_run = models.ForeignKey("checks.CheckRun", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="actions")
    title = models.CharField(max_length=200)
    current_level = models.PositiveSmallIntegerField(null=True, blank=True)
    target_level = models.PositiveSmallIntegerField(null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="actions")
    due_on = models.DateField()
    status = models.CharField(max_length=12, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=300, blank=True)
    due_notified_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)

    objects = ActionQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "practice"], name="action_one_open_per_answer_gap",
                                    condition=Q(source=ActionSource.ANSWER, status__in=OPEN_ORDERED)),
            models.UniqueConstraint(fields=["project", "practice", "check_definition"],
                                    name="action_one_open_per_check_gap",
                                    condition=Q(source=ActionSource.CHECK, status__in=OPEN_ORDERED)),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="action_status_due_idx"),
                   models.Index(fields=["owner", "status"], name="action_owner_status_idx")]

    def __str__(self) -> str:
        return f"{self.project} {self.practice.code}: {self.title}"

    @property
    def badge(self) -> str:
        return ActionStatus.badge_for(self.status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, today: dt.date) -> bool:
        return self.is_open and self.due_on < today

    def can_be_managed_by(self, user) -> bool:
        """Owner, due date and status: the team's lead, officers and administrators."""
        return self.project.can_manage_actions(user)

    def can_change_status(self, user) -> bool:
        """Its owner (still in the team) may say it is in progress, as may whoever manages it."""
        return self.can_be_managed_by(user) or (self.owner_id == user.pk and user.belongs_to(self.project.team_id))
