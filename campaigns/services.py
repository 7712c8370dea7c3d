"""Launching a campaign (one draft per active project, in a constant number of queries per team),
its progress, and the reminders and escalation that follow its deadline (docs/workflow.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from accounts.choices import OrgRole, TeamRole
from accounts.models import Membership, Team, User
from actions.choices import Event
from actions.events import emit
from assessments.choices import AssessmentStatus
from assessments.models import Answer, Assessment, Project
from assessments.services import ANSWER_FIELDS
from assessments.validators import validate_cycle
from audit.services import audit_record
from controls.models import CatalogRelease, Practice

from .models import Campaign

MAX_DEADLINE_DAYS = 366


def _validate(cycle: str, deadline, teams) -> None:
    errors = {}
    try:
        validate_cycle(cycle)
    except ValidationError as exc:
        errors["cycle"] = exc.messages
    today = timezone.localdate()
    if not isinstance(deadline, dt.date) or deadline <= today:
        errors["deadline"] = ["The deadline must be a future day."]
    elif deadline > today + dt.timedelta(days=MAX_DEADLINE_DAYS):
        errors["deadline"] = [f"Choose a deadline within {MAX_DEADLINE_DAYS} days."]
    if teams is not None and not teams:
        errors["teams"] = ["Choose at least one team, or all teams."]
    if "cycle" not in errors and Campaign.objects.filter(cycle=cycle).exists():
        errors["cycle"] = [f"A campaign for {cycle} was already launched."]
    if errors:
        raise ValidationError(errors)


def _leads_by_team(team_ids) -> dict[int, list[User]]:
    leads: dict[int, list[User]] = {}
    for m in (Membership.objects.filter(team_id__in=team_ids, role=TeamRole.LEAD, user__is_active=True)
              .select_related("user").order_by("user__username")):
        leads.setdefault(m.team_id, []).append(m.user)
    return leads


@transaction.atomic(durable=True)
def campaign_launch(*, actor, cycle: str, deadline: dt.date, teams: list[Team] | None = None,
                    title: str = "") -> Campaign:
    """Start `cycle` for `teams` (None: every team): each active project without an assessment of that
    cycle gets a draft pre-filled from its last approved answers; each team's leads are told.

    The drafts, their answers and the previous answers are read and written in bulk, so the cost grows
    with the number of teams (an audit event and a notice each), never with the number of projects.
    """
    if not Campaign.can_be_launched_by(actor):
        raise PermissionDenied("Only a security officer or an administrator can launch a campaign.")
    cycle = (cycle or "").strip()
    _validate(cycle, deadline, teams)
    teams = list(Team.objects.order_by("name")) if teams is None else sorted(set(teams), key=lambda t: t.name)
    campaign = Campaign.objects.create(cycle=cycle, deadline=deadline, title=(title or "").strip()[:200],
                                       created_by=actor)
    campaign.teams.set(teams)
    projects = list(Project.objects.active().filter(team__in=teams).exclude(assessments__cycle=cycle)
                    .only("pk", "team_id"))
    version = CatalogRelease.current_version()
    try:
        with transaction.atomic():
            drafts = Assessment.objects.bulk_create([
                Assessment(project_id=p.pk, cycle=cycle, catalog_version=version, created_by=actor) for p in projects])
    except IntegrityError:
        raise ValidationError({"cycle": ["A team started this cycle meanwhile: launch again to include the rest."]}) from None
    previous: dict[tuple[int, int], dict] = {}
    for row in (Answer.objects.filter(assessment__status=AssessmentStatus.APPROVED,
                                      assessment__superseded_at__isnull=True,
                                      assessment__project_id__in=[p.pk for p in projects])
                .values("assessment__project_id", "practice_id", "owner_user_id", *ANSWER_FIELDS)):
        previous[(row.pop("assessment__project_id"), row.pop("practice_id"))] = row
    practices = list(Practice.objects.active().order_by("number").values_list("pk", flat=True))
    Answer.objects.bulk_create([
        Answer(assessment_id=draft.pk, practice_id=pid, updated_by=actor, **previous.get((draft.project_id, pid), {}))
        for draft in drafts for pid in practices], batch_size=2000)
    campaign.drafts_created = len(drafts)
    campaign.save(update_fields=["drafts_created"])
    audit_record(actor=actor, action="campaign.launch", obj=campaign,
                 after={"cycle": cycle, "deadline": deadline, "teams": [t.slug for t in teams],
                        "drafts": len(drafts), "catalog_version": version})
    _announce(actor, campaign, teams, {p.pk: p.team_id for p in projects}, drafts)
    return campaign


def _announce(actor, campaign: Campaign, teams: list[Team], team_of: dict[int, int], drafts: list[Assessment]) -> None:
    by_team: dict[int, list[int]] = {}
    for draft in drafts:
        by_team.setdefault(team_of[draft.project_id], []).append(draft.pk)
    leads = _leads_by_team([t.pk for t in teams])
    for team in teams:
        ids = by_team.get(team.pk, [])
        emit(Event.CAMPAIGN_STARTED, obj=campaign, actor=actor, recipients=leads.get(team.pk, []),
             context={"team": team.slug, "cycle": campaign.cycle, "deadline": campaign.deadline.isoformat(),
                      "assessments": ids, "path": "/my-work/"})


PROGRESS_STATES = ("not_started", "draft", "submitted", "approved")


@dataclass
class TeamProgress:
    team: Team
    not_started: int = 0
    draft: int = 0
    submitted: int = 0
    approved: int = 0

    @property
    def total(self) -> int:
        return self.not_started + self.draft + self.submitted + self.approved

    @property
    def behind(self) -> int:
        """Projects not yet submitted: what a reminder is about."""
        return self.not_started + self.draft

    @property
    def state(self) -> str:
        """The team's furthest-behind project decides its state."""
        return next((s for s in PROGRESS_STATES if getattr(self, s)), "approved")


def campaign_progress(campaign: Campaign, *, teams: list[Team] | None = None) -> list[TeamProgress]:
    """Per team, how many active projects are not started / draft (or returned) / submitted / approved: two queries."""
    teams = list(campaign.teams.order_by("name")) if teams is None else teams
    status = Assessment.objects.filter(project_id=OuterRef("pk"), cycle=campaign.cycle).values("status")[:1]
    counts = (Project.objects.active().filter(team__in=teams).annotate(cycle_status=Subquery(status))
              .values("team_id", "cycle_status").annotate(n=Count("pk")).order_by())
    rows = {t.pk: TeamProgress(team=t) for t in teams}
    state = {None: "not_started", AssessmentStatus.DRAFT: "draft", AssessmentStatus.RETURNED: "draft",
             AssessmentStatus.SUBMITTED: "submitted", AssessmentStatus.APPROVED: "approved"}
    for row in counts:
        progress = rows[row["team_id"]]
        name = state[row["cycle_status"]]
        setattr(progress, name, getattr(progress, name) + row["n"])
    return list(rows.values())


def campaign_reminders(*, today: dt.date | None = None) -> dict:
    """Daily (beat): the reminder to teams still behind from `reminder_day()`, the escalation to officers
    from the day after the deadline; each at most once per campaign (claimed by a conditional UPDATE)."""
    today = today or timezone.localdate()
    sent = {"reminders": 0, "escalations": 0}
    for campaign in Campaign.objects.running().filter(deadline__gte=today - dt.timedelta(days=366)):
        if campaign.reminder_sent_at is None and campaign.reminder_day() <= today <= campaign.deadline:
            sent["reminders"] += _remind(campaign)
        if campaign.escalated_at is None and today >= campaign.escalation_day():
            sent["escalations"] += _escalate(campaign)
    return sent


@transaction.atomic
def _remind(campaign: Campaign) -> int:
    if not Campaign.objects.filter(pk=campaign.pk, reminder_sent_at__isnull=True).update(reminder_sent_at=timezone.now()):
        return 0
    behind = [p for p in campaign_progress(campaign) if p.behind]
    leads = _leads_by_team([p.team.pk for p in behind])
    for progress in behind:
        emit(Event.CAMPAIGN_REMINDER, obj=campaign, actor=None, recipients=leads.get(progress.team.pk, []),
             context={"team": progress.team.slug, "cycle": campaign.cycle, "deadline": campaign.deadline.isoformat(),
                      "not_submitted": progress.behind, "path": "/my-work/"})
    return len(behind)


@transaction.atomic
def _escalate(campaign: Campaign) -> int:
    if not Campaign.objects.filter(pk=campaign.pk, escalated_at__isnull=True).update(escalated_at=timezone.now()):
        return 0
    behind = [p for p in campaign_progress(campaign) if p.behind]
    if not behind:
        return 0
    officers = list(User.objects.filter(org_role=OrgRole.OFFICER, is_active=True).order_by("username"))
    emit(Event.CAMPAIGN_ESCALATION, obj=campaign, actor=None, recipients=officers,
         context={"cycle": campaign.cycle, "deadline": campaign.deadline.isoformat(),
                  "teams_behind": {p.team.slug: p.behind for p in behind}, "path": f"/campaigns/{campaign.pk}/"})
    return 1


@transaction.atomic(durable=True)
def campaign_close(*, actor, campaign: Campaign) -> Campaign:
    """End a campaign: no more reminders; its assessments go on as any others."""
    if not Campaign.can_be_launched_by(actor):
        raise PermissionDenied("Only a security officer or an administrator can close a campaign.")
    if campaign.closed_at is None:
        campaign.closed_at = timezone.now()
        campaign.save(update_fields=["closed_at"])
        audit_record(actor=actor, action="campaign.close", obj=campaign, after={"closed_at": campaign.closed_at})
    return campaign
