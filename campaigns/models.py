"""Assessment campaigns: one cycle launched by an officer for chosen teams (or all) with a deadline."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from accounts.models import Team
from assessments.validators import validate_cycle


class CampaignQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Org-wide roles see every campaign; team people the campaigns that include one of their teams."""
        from accounts.scope import member_team_ids

        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.sees_everything:
            return self
        return self.filter(teams__in=member_team_ids(user)).distinct()

    def running(self):
        return self.filter(closed_at__isnull=True)


class Campaign(models.Model):
    """A cycle (e.g. `2027-Q1`) started for several teams at once: each active project gets a draft.

    The drafts are ordinary assessments of that cycle, so progress is read from the assessments
    themselves; a campaign only remembers its teams, its deadline and which reminders went out.
    """

    cycle = models.CharField(max_length=10, unique=True, validators=[validate_cycle])
    title = models.CharField(max_length=200, blank=True)
    deadline = models.DateField()
    teams = models.ManyToManyField(Team, related_name="campaigns")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    drafts_created = models.PositiveIntegerField(default=0)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title or f"Campaign {self.cycle}"

    def reminder_day(self) -> dt.date:
        return self.deadline - dt.timedelta(days=settings.MLSEC_CAMPAIGN_REMINDER_DAYS)

    def escalation_day(self) -> dt.date:
        """The day after the deadline: the deadline itself is still the teams' to use."""
        return self.deadline + dt.timedelta(days=1)

    @staticmethod
    def can_be_launched_by(user) -> bool:
        return user.is_officer or user.is_org_admin
