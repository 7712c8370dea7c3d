from django.db import models

from mlsec_portal.choices import BadgeChoices


class ActionStatus(BadgeChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    ACCEPTED = "accepted", "Accepted risk"

    __badges__ = {"open": "warning", "in_progress": "info", "done": "success", "accepted": "neutral"}


class ActionSource(models.TextChoices):
    ANSWER = "answer", "Answer below its target"
    CHECK = "check", "Failing check"


OPEN_STATUSES = frozenset({ActionStatus.OPEN, ActionStatus.IN_PROGRESS})
# Statuses a person may set; done and accepted follow from approvals, check verdicts and risk acceptances.
SETTABLE_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)

# Days an action gets when its answer has no due date (from the approval), and per finding severity for
# a failing check: the worse the finding, the sooner.
DEFAULT_DUE_DAYS = 90
CHECK_DUE_DAYS = {"critical": 7, "high": 30, "medium": 60, "low": 90}


class Event:
    """Names of the events the work between reviews emits (actions/events.py)."""

    ACTION_DUE = "action.due"
    ACTION_OVERDUE = "action.overdue"
    CAMPAIGN_STARTED = "campaign.started"
    CAMPAIGN_REMINDER = "campaign.reminder"
    CAMPAIGN_ESCALATION = "campaign.escalation"
