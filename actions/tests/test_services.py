"""Actions open and close by the rules of docs/workflow.md, and every change is audited."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from actions import services
from actions.choices import ActionSource, ActionStatus
from actions.models import Action
from assessments import services as assessment_services
from audit.models import AuditEvent
from controls.models import Practice

from .factories import approve_with, finish

pytestmark = pytest.mark.django_db
TODAY = dt.date.today


def in_days(n):
    return timezone.localdate() + dt.timedelta(days=n)


def test_an_approved_answer_below_its_target_opens_an_action_for_its_owner_due_on_its_date(org):
    approve_with(org, org.project, answers={"MLS-03": {"level": 1, "target_level": 3, "due_date": in_days(40),
                                                       "owner_user": org.member, "owner": "member"}})
    action = Action.objects.get()
    assert (action.practice.code, action.source, action.status) == ("MLS-03", ActionSource.ANSWER, ActionStatus.OPEN)
    assert (action.owner, action.due_on, action.current_level, action.target_level) == (org.member, in_days(40), 1, 3)
    assert AuditEvent.objects.filter(action="action.open", object_id=str(action.pk), actor=org.officer).exists()


def test_an_answer_without_owner_or_date_goes_to_the_lead_with_the_default_delay(org):
    approve_with(org, org.project, answers={"MLS-05": {"level": 0, "target_level": 2}})
    action = Action.objects.get()
    assert action.owner == org.lead
    assert action.due_on == in_days(90)


def test_answers_at_or_above_target_and_answers_without_target_open_nothing(org):
    approve_with(org, org.project, answers={"MLS-01": {"level": 3, "target_level": 3}, "MLS-02": {"level": 1}})
    assert not Action.objects.exists()


def test_an_owner_who_left_the_team_is_replaced_by_the_lead(org):
    approve_with(org, org.project, answers={"MLS-03": {"level": 1, "target_level": 2, "owner_user": org.other_lead}})
    assert Action.objects.get().owner == org.lead


def test_a_later_approval_that_reaches_the_target_closes_the_action(org):
    approve_with(org, org.project, answers={"MLS-03": {"level": 1, "target_level": 3}})
    approve_with(org, org.project, cycle="2027-Q1", answers={"MLS-03": {"level": 3, "target_level": None}})
    action = Action.objects.get()
    assert action.status == ActionStatus.DONE and action.closed_at is not None
    assert "2027-Q1 approved level 3" in action.closed_reason
    assert AuditEvent.objects.filter(action="action.close", object_id=str(action.pk)).exists()


def test_a_later_approval_still_below_keeps_one_action_and_updates_it(org):
    approve_with(org, org.project, answers={"MLS-03": {"level": 1, "target_level": 3}})
    approve_with(org, org.project, cycle="2027-Q1", answers={"MLS-03": {"level": 2, "target_level": 3,
                                                                      "due_date": in_days(10)}})
    action = Action.objects.get()
    assert (action.status, action.current_level, action.due_on) == (ActionStatus.OPEN, 2, in_days(10))


def test_a_later_approval_that_drops_the_target_does_not_close_the_gap(org):
    approve_with(org, org.project, answers={"MLS-03": {"level": 1, "target_level": 3}})
    approve_with(org, org.project, cycle="2027-Q1", answers={"MLS-03": {"level": 1, "target_level": None}})
    assert Action.objects.get().status == ActionStatus.OPEN


def test_a_draft_or_a_submission_reaching_the_target_closes_nothing(org):
    from assessments.tests.factories import make_assessment

    approve_with(org, org.project, answers={"MLS-03": {"level": 1, "target_level": 3}})
    draft = make_assessment(org.project, cycle="2027-Q1", levels=4)
    assessment_services.assessment_submit(actor=org.lead, assessment=draft)
    assert Action.objects.get().status == ActionStatus.OPEN


def test_an_approved_risk_acceptance_turns_the_open_action_into_accepted_risk(org):
    approve_with(org, org.project, answers={"MLS-03": {"level": 1, "target_level": 3}})
    acceptance = assessment_services.acceptance_propose(
        actor=org.lead, project=org.project, practice=Practice.objects.get(code="MLS-03"),
        justification="Compensated by network isolation for now.", expires_on=in_days(60))
    assessment_services.acceptance_decide(actor=org.officer, acceptance=acceptance, status="approved")
    assert Action.objects.get().status == ActionStatus.ACCEPTED


def test_a_failing_check_that_caps_an_approved_level_opens_an_action_and_its_pass_closes_it(org):
    approve_with(org, org.project, level=3)
    finish(org.project, "source-secrets", "failed", findings=[])
    opened = Action.objects.filter(source=ActionSource.CHECK)
    assert sorted(a.practice.code for a in opened) == ["MLS-01", "MLS-13"]  # the practices the check covers
    assert {a.current_level for a in opened} == {1} and {a.target_level for a in opened} == {3}
    finish(org.project, "source-secrets", "failed")  # a second failure adds nothing
    assert opened.count() == 2
    finish(org.project, "source-secrets", "passed")
    assert set(Action.objects.values_list("status", flat=True)) == {ActionStatus.DONE}


def test_a_failing_check_on_levels_it_does_not_cap_opens_nothing_by_itself(org):
    approve_with(org, org.project, level=1)
    finish(org.project, "source-secrets", "failed")
    assert not Action.objects.exists()


def test_an_error_never_opens_nor_closes_an_action(org):
    approve_with(org, org.project, level=3)
    finish(org.project, "source-secrets", "failed")
    finish(org.project, "source-secrets", "error")
    assert Action.objects.open().count() == 2


def test_a_lead_or_officer_promotes_a_failing_check_and_nobody_else_can(org):
    run = finish(org.project, "source-secrets", "failed")
    for user in (org.member, org.auditor, org.other_lead, org.nobody):
        with pytest.raises(PermissionDenied):
            services.action_promote_check(actor=user, run=run)
    opened = services.action_promote_check(actor=org.lead, run=run, owner_id=org.member.pk, due_on=in_days(5))
    assert {(a.owner, a.due_on) for a in opened} == {(org.member, in_days(5))}
    with pytest.raises(ValidationError):  # a double click opens nothing more
        services.action_promote_check(actor=org.officer, run=run)


def test_promoting_refuses_a_passing_run_an_outsider_owner_and_a_past_date(org):
    passed = finish(org.project, "source-static-analysis", "passed")
    with pytest.raises(ValidationError):
        services.action_promote_check(actor=org.lead, run=passed)
    failed = finish(org.project, "source-secrets", "failed")
    with pytest.raises(ValidationError):
        services.action_promote_check(actor=org.lead, run=failed, owner_id=org.other_lead.pk)
    with pytest.raises(ValidationError):
        services.action_promote_check(actor=org.lead, run=failed, due_on=in_days(-1))
    assert not Action.objects.exists()


@pytest.fixture
def action(org):
    approve_with(org, org.project, answers={"MLS-03": {"level": 1, "target_level": 3, "owner_user": org.member}})
    return Action.objects.get()


def test_the_lead_reassigns_and_moves_the_date_and_the_change_is_audited(org, action):
    services.action_update(actor=org.lead, action=action, owner=org.lead.pk, due_on=in_days(3))
    action.refresh_from_db()
    assert (action.owner, action.due_on) == (org.lead, in_days(3))
    event = AuditEvent.objects.filter(action="action.update", object_id=str(action.pk)).get()
    assert event.changes["after"]["owner"] == org.lead.pk


def test_the_owner_may_start_work_but_not_reassign(org, action):
    services.action_update(actor=org.member, action=action, status=ActionStatus.IN_PROGRESS)
    with pytest.raises(PermissionDenied):
        services.action_update(actor=org.member, action=action, owner=org.lead.pk)
    action.refresh_from_db()
    assert (action.status, action.owner) == (ActionStatus.IN_PROGRESS, org.member)


@pytest.mark.parametrize("who", ["auditor", "other_lead", "nobody"])
def test_auditors_and_other_teams_change_nothing(org, action, who):
    with pytest.raises(PermissionDenied):
        services.action_update(actor=getattr(org, who), action=action, status=ActionStatus.IN_PROGRESS)


def test_nobody_marks_an_action_done_by_hand_nor_changes_a_closed_one(org, action):
    with pytest.raises(ValidationError):
        services.action_update(actor=org.officer, action=action, status=ActionStatus.DONE)
    with pytest.raises(ValidationError):
        services.action_update(actor=org.lead, action=action, owner=org.other_lead.pk)
    Action.objects.filter(pk=action.pk).update(status=ActionStatus.DONE)
    with pytest.raises(ValidationError):
        services.action_update(actor=org.lead, action=action, due_on=in_days(9))
    action.refresh_from_db()
    assert action.owner == org.member
