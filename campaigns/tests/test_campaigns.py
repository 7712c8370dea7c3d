"""A campaign for all teams: one draft per active project (constant queries per team), progress, reminder and escalation."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.choices import TeamRole
from accounts.models import Membership
from accounts.tests.factories import TeamFactory, UserFactory
from actions.tests.factories import approve_with
from assessments import services as assessment_services
from assessments.choices import AssessmentStatus
from assessments.models import Answer, Assessment
from assessments.tests.factories import ProjectFactory
from audit.models import AuditEvent
from campaigns import services
from campaigns.models import Campaign
from campaigns.tasks import campaign_reminders
from controls.models import Practice
from mlsec_portal.schedules import default_schedules

pytestmark = pytest.mark.django_db


def in_days(n):
    return timezone.localdate() + dt.timedelta(days=n)


def events(name):
    return list(AuditEvent.objects.filter(action=f"event.{name}").order_by("seq"))


def test_a_campaign_for_all_teams_drafts_every_active_project_prefilled_from_its_last_approval(org):
    approve_with(org, org.project, answers={"MLS-03": {"level": 1, "target_level": 3, "notes": "KMS",
                                                       "owner_user": org.member, "owner": "member"}})
    archived = ProjectFactory(team=org.team, archived_at=timezone.now())
    campaign = services.campaign_launch(actor=org.officer, cycle="2027-Q1", deadline=in_days(30))
    drafts = Assessment.objects.filter(cycle="2027-Q1")
    assert sorted(drafts.values_list("project_id", flat=True)) == sorted([org.project.pk, org.other_project.pk])
    assert not drafts.filter(project=archived).exists() and campaign.drafts_created == 2
    assert set(drafts.values_list("status", flat=True)) == {AssessmentStatus.DRAFT}
    copied = Answer.objects.get(assessment__project=org.project, assessment__cycle="2027-Q1", practice__code="MLS-03")
    assert (copied.level, copied.target_level, copied.notes, copied.owner_user) == (1, 3, "KMS", org.member)
    blank = drafts.get(project=org.other_project)
    assert blank.answers.count() == Practice.objects.active().count()
    assert set(blank.answers.values_list("level", flat=True)) == {None}
    launch = AuditEvent.objects.get(action="campaign.launch")
    assert launch.changes["after"]["drafts"] == 2 and launch.changes["after"]["teams"] == ["fraud", "recs"]


def test_each_team_lead_is_told_and_the_lead_can_submit_the_draft(org):
    services.campaign_launch(actor=org.officer, cycle="2027-Q1", deadline=in_days(30))
    started = {e.changes["after"]["team"]: e.changes["after"] for e in events("campaign.started")}
    assert started["fraud"]["recipients"] == [org.lead.pk] and started["recs"]["recipients"] == [org.other_lead.pk]
    draft = Assessment.objects.get(project=org.project, cycle="2027-Q1")
    assert started["fraud"]["assessments"] == [draft.pk]
    for answer in draft.answers.all():
        assessment_services.answer_update(actor=org.member, answer=answer, level=2)
    assert assessment_services.assessment_submit(actor=org.lead, assessment=draft).status == "submitted"


def test_chosen_teams_only_and_a_project_already_started_is_kept_not_duplicated(org):
    third = TeamFactory(slug="vision", name="Vision")
    ProjectFactory(team=third)
    manual = assessment_services.assessment_start(actor=org.member, project=org.project, cycle="2027-Q1")
    campaign = services.campaign_launch(actor=org.officer, cycle="2027-Q1", deadline=in_days(30),
                                        teams=[org.team, third])
    assert campaign.drafts_created == 1
    assert Assessment.objects.filter(cycle="2027-Q1", project=org.project).get() == manual
    assert not Assessment.objects.filter(cycle="2027-Q1", project=org.other_project).exists()
    progress = {p.team.slug: p for p in services.campaign_progress(campaign)}
    assert set(progress) == {"fraud", "vision"} and progress["fraud"].draft == 1


@pytest.mark.parametrize("who", ["lead", "member", "auditor", "other_lead", "nobody"])
def test_only_officers_and_administrators_launch(org, who):
    with pytest.raises(PermissionDenied):
        services.campaign_launch(actor=getattr(org, who), cycle="2027-Q1", deadline=in_days(30))
    assert not Campaign.objects.exists() and not Assessment.objects.exists()


@pytest.mark.parametrize("cycle,deadline,teams", [
    ("2027-Q5", 30, None), ("next quarter", 30, None), ("2027-Q1", 0, None), ("2027-Q1", -3, None),
    ("2027-Q1", 400, None), ("2027-Q1", 30, []),
])
def test_bad_input_is_refused_and_changes_nothing(org, cycle, deadline, teams):
    with pytest.raises(ValidationError):
        services.campaign_launch(actor=org.officer, cycle=cycle, deadline=in_days(deadline), teams=teams)
    assert not Campaign.objects.exists() and not Assessment.objects.exists()


def test_a_second_launch_of_the_same_cycle_is_refused(org):
    services.campaign_launch(actor=org.officer, cycle="2027-Q1", deadline=in_days(30))
    with pytest.raises(ValidationError):
        services.campaign_launch(actor=org.admin, cycle="2027-Q1", deadline=in_days(30))
    assert Assessment.objects.filter(cycle="2027-Q1").count() == 2


def _grow(teams: int, projects: int):
    for _ in range(teams):
        team = TeamFactory()
        Membership.objects.create(team=team, user=UserFactory(), role=TeamRole.LEAD)
        for _ in range(projects):
            project = ProjectFactory(team=team)
            from assessments.tests.factories import make_assessment

            make_assessment(project, levels=2, status=AssessmentStatus.APPROVED)


def _launch_queries(org, cycle) -> int:
    """Statements of one launch; the answers' bulk insert counts once (SQLite splits it into batches by
    its limit on parameters per statement, PostgreSQL sends it whole: the same one statement in intent)."""
    with CaptureQueriesContext(connection) as ctx:
        services.campaign_launch(actor=org.officer, cycle=cycle, deadline=in_days(30))
    inserts = [q for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "assessments_answer"')]
    return len(ctx.captured_queries) - len(inserts) + (1 if inserts else 0)


def test_launching_costs_the_same_queries_for_1_or_10_projects_per_team_and_a_constant_per_team(org):
    from controls.models import CatalogRelease

    CatalogRelease.current_version()  # warm the per-process cache
    base = _launch_queries(org, "2027-Q1")  # 2 teams, 1 project each
    _grow(teams=0, projects=0)
    for project in range(9):
        ProjectFactory(team=org.team)
        ProjectFactory(team=org.other_team)
    wider = _launch_queries(org, "2027-Q2")  # 2 teams, 10 projects each
    assert wider == base, (base, wider)
    _grow(teams=2, projects=3)
    four = _launch_queries(org, "2027-Q3")
    _grow(teams=2, projects=5)
    six = _launch_queries(org, "2027-Q4")
    assert six - four == four - base, (base, four, six)  # the same few queries for each more team
    # Per team, only its `campaign.started` event whatever the number of its projects: one audit event
    # (savepoint, chain head lock, insert, head update, release) and one outbox dispatch (the dispatch,
    # its leads, their notifications, their preferences, their e-mails, the team's channels, savepoint).
    assert (four - base) // 2 <= 12


def test_progress_counts_every_state_in_two_queries(org):
    extra = ProjectFactory(team=org.team)
    third = ProjectFactory(team=org.team)
    campaign = services.campaign_launch(actor=org.officer, cycle="2027-Q1", deadline=in_days(30))
    draft = Assessment.objects.get(project=org.project, cycle="2027-Q1")
    Assessment.objects.filter(pk=draft.pk).update(status=AssessmentStatus.SUBMITTED)
    Assessment.objects.filter(project=extra, cycle="2027-Q1").update(status=AssessmentStatus.APPROVED)
    Assessment.objects.filter(project=third, cycle="2027-Q1").delete()
    teams = list(campaign.teams.order_by("name"))
    with CaptureQueriesContext(connection) as ctx:
        progress = {p.team.slug: p for p in services.campaign_progress(campaign, teams=teams)}
    assert len(ctx.captured_queries) == 1
    fraud = progress["fraud"]
    assert (fraud.not_started, fraud.draft, fraud.submitted, fraud.approved) == (1, 0, 1, 1)
    assert fraud.state == "not_started" and progress["recs"].state == "draft"


def run_beat_on(day: dt.date):
    with time_machine.travel(dt.datetime.combine(day, dt.time(6, 5), tzinfo=dt.UTC), tick=False):
        return campaign_reminders.apply().get()


def test_the_reminder_goes_seven_days_before_the_deadline_and_the_escalation_the_day_after(org):
    assert ("Campaign reminders and escalations", "campaigns.tasks.campaign_reminders", "5 6 * * *", []) \
        in default_schedules()
    start = timezone.localdate()
    deadline = start + dt.timedelta(days=14)
    services.campaign_launch(actor=org.officer, cycle="2027-Q1", deadline=deadline)
    # The recommendations team submits in time; fraud detection does not.
    other = Assessment.objects.get(project=org.other_project, cycle="2027-Q1")
    Assessment.objects.filter(pk=other.pk).update(status=AssessmentStatus.SUBMITTED)
    fired = {}
    for offset in range(0, 20):
        day = start + dt.timedelta(days=offset)
        run_beat_on(day)
        for name in ("campaign.reminder", "campaign.escalation"):
            if events(name) and name not in fired:
                fired[name] = day
    assert fired == {"campaign.reminder": deadline - dt.timedelta(days=7),
                     "campaign.escalation": deadline + dt.timedelta(days=1)}
    (reminder,) = events("campaign.reminder")
    assert reminder.changes["after"]["team"] == "fraud" and reminder.changes["after"]["recipients"] == [org.lead.pk]
    (escalation,) = events("campaign.escalation")
    assert escalation.changes["after"]["recipients"] == [org.officer.pk]
    assert escalation.changes["after"]["teams_behind"] == {"fraud": 1}


def test_a_campaign_everyone_finished_or_closed_escalates_nothing(org):
    start = timezone.localdate()
    campaign = services.campaign_launch(actor=org.officer, cycle="2027-Q1", deadline=start + dt.timedelta(days=3))
    Assessment.objects.filter(cycle="2027-Q1").update(status=AssessmentStatus.APPROVED)
    run_beat_on(start + dt.timedelta(days=5))
    assert not events("campaign.escalation") and not events("campaign.reminder")
    second = services.campaign_launch(actor=org.officer, cycle="2027-Q2", deadline=start + dt.timedelta(days=3))
    services.campaign_close(actor=org.officer, campaign=second)
    run_beat_on(start + dt.timedelta(days=5))
    assert not events("campaign.escalation")
    assert Campaign.objects.get(pk=campaign.pk).escalated_at is not None


def test_a_launch_tells_each_teams_leads_through_the_notification_outbox(org, django_capture_on_commit_callbacks):
    from notifications.models import Notification, OutboxMessage

    services.campaign_launch(actor=org.officer, cycle="2027-Q1", deadline=in_days(30))
    started = Notification.objects.filter(dispatch__event="campaign.started")
    assert set(started.values_list("recipient", flat=True)) >= {org.lead.pk}
    mine = started.get(recipient=org.lead)
    assert mine.read_at is None and mine.dispatch.team_id == org.team.pk  # the lead's own team's news
    assert OutboxMessage.objects.filter(dispatch=mine.dispatch, recipient=org.lead).exists()
