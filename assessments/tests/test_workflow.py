"""The assessment workflow: every transition, every refusal, and the audit event each change leaves."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.choices import TeamRole
from accounts.models import Membership
from assessments import services
from assessments.choices import AssessmentStatus
from assessments.models import Answer, Assessment
from assessments.tests.factories import make_assessment
from audit.models import AuditEvent
from controls.models import CatalogRelease, Practice


def answer_all(assessment, actor, level=2):
    for answer in assessment.answers.all():
        services.answer_update(actor=actor, answer=answer, level=level)


@pytest.fixture
def draft(org):
    return services.assessment_start(actor=org.lead, project=org.project, cycle="2026-Q4")


def test_starting_an_assessment_creates_one_answer_per_practice_and_records_the_catalogue(org, draft):
    assert draft.status == AssessmentStatus.DRAFT
    assert draft.answers.count() == 25
    assert draft.catalog_version == CatalogRelease.current_version() != "unloaded"
    assert AuditEvent.objects.filter(action="assessment.create", object_id=str(draft.pk)).exists()


def test_it_refuses_a_second_assessment_for_the_same_project_and_cycle(org, draft):
    with pytest.raises(ValidationError) as exc:
        services.assessment_start(actor=org.member, project=org.project, cycle="2026-Q4")
    assert "already has an assessment" in str(exc.value)
    assert Assessment.objects.filter(project=org.project).count() == 1


def test_it_refuses_a_malformed_cycle(org):
    with pytest.raises(ValidationError):
        services.assessment_start(actor=org.lead, project=org.project, cycle="Q4-2026")
    assert not Assessment.objects.exists()


def test_the_full_path_draft_submitted_returned_submitted_approved(org, draft):
    answer_all(draft, org.member)
    services.assessment_submit(actor=org.lead, assessment=draft)
    draft.refresh_from_db()
    assert draft.status == AssessmentStatus.SUBMITTED and draft.submitted_by == org.lead

    services.assessment_return(actor=org.officer, assessment=draft, comment="Attach the pen-test report for MLS-08.")
    draft.refresh_from_db()
    assert draft.status == AssessmentStatus.RETURNED
    assert draft.review_comment == "Attach the pen-test report for MLS-08."

    answer = draft.answers.get(practice__code="MLS-08")
    services.answer_update(actor=org.member, answer=answer, level=3, notes="Report from October attached.")
    services.assessment_submit(actor=org.lead, assessment=draft)
    services.assessment_approve(actor=org.officer, assessment=draft, comment="Thanks.")
    draft.refresh_from_db()
    assert draft.status == AssessmentStatus.APPROVED and draft.reviewed_by == org.officer
    actions = list(AuditEvent.objects.filter(object_id=str(draft.pk), object_type="assessments.assessment")
                   .order_by("seq").values_list("action", flat=True))
    assert actions == ["assessment.create", "assessment.submit", "assessment.return", "assessment.submit",
                       "assessment.approve"]


def test_submit_is_refused_while_practices_are_unanswered_and_lists_the_missing_codes(org, draft):
    for answer in draft.answers.exclude(practice__code__in=["MLS-04", "MLS-19"]):
        services.answer_update(actor=org.lead, answer=answer, level=1)
    with pytest.raises(ValidationError) as exc:
        services.assessment_submit(actor=org.lead, assessment=draft)
    assert exc.value.message_dict == {"missing": ["MLS-04", "MLS-19"]}
    draft.refresh_from_db()
    assert draft.status == AssessmentStatus.DRAFT


def test_not_applicable_counts_as_answered_only_with_a_justification(org, draft):
    answer_all(draft, org.lead)
    answer = draft.answers.get(practice__code="MLS-14")
    with pytest.raises(ValidationError) as exc:
        services.answer_update(actor=org.lead, answer=answer, level=None, not_applicable=True, justification="  ")
    assert "justification" in exc.value.message_dict
    answer.refresh_from_db()
    assert answer.level == 2 and not answer.not_applicable
    services.answer_update(actor=org.lead, answer=answer, level=None, not_applicable=True,
                           justification="All training data lives in one governed warehouse.")
    services.assessment_submit(actor=org.lead, assessment=draft)


def test_an_answer_cannot_have_both_a_level_and_not_applicable(org, draft):
    answer = draft.answers.get(practice__code="MLS-14")
    with pytest.raises(ValidationError) as exc:
        services.answer_update(actor=org.lead, answer=answer, level=2, not_applicable=True, justification="x" * 20)
    assert "level" in exc.value.message_dict


@pytest.mark.parametrize("level", [-1, 5, 99])
def test_levels_outside_zero_to_four_are_refused(org, draft, level):
    answer = draft.answers.get(practice__code="MLS-01")
    with pytest.raises(ValidationError):
        services.answer_update(actor=org.lead, answer=answer, level=level)
    answer.refresh_from_db()
    assert answer.level is None


def test_only_the_team_lead_submits(org, draft):
    answer_all(draft, org.lead)
    for actor in (org.member, org.officer, org.admin, org.auditor, org.other_lead):
        with pytest.raises(PermissionDenied):
            services.assessment_submit(actor=actor, assessment=draft)
    draft.refresh_from_db()
    assert draft.status == AssessmentStatus.DRAFT


def test_only_officers_approve_or_return(org):
    submitted = make_assessment(org.project, levels=2, status=AssessmentStatus.SUBMITTED)
    for actor in (org.admin, org.auditor, org.lead, org.member, org.other_lead):
        with pytest.raises(PermissionDenied):
            services.assessment_approve(actor=actor, assessment=submitted)
        with pytest.raises(PermissionDenied):
            services.assessment_return(actor=actor, assessment=submitted, comment="No.")
    submitted.refresh_from_db()
    assert submitted.status == AssessmentStatus.SUBMITTED


def test_an_officer_never_reviews_a_team_they_lead(org):
    Membership.objects.create(team=org.team, user=org.officer, role=TeamRole.LEAD)
    submitted = make_assessment(org.project, levels=2, status=AssessmentStatus.SUBMITTED)
    with pytest.raises(PermissionDenied, match="belong to"):
        services.assessment_approve(actor=org.officer, assessment=submitted)
    submitted.refresh_from_db()
    assert submitted.status == AssessmentStatus.SUBMITTED


def test_return_needs_a_comment(org):
    submitted = make_assessment(org.project, levels=2, status=AssessmentStatus.SUBMITTED)
    for comment in ("", "   "):
        with pytest.raises(ValidationError) as exc:
            services.assessment_return(actor=org.officer, assessment=submitted, comment=comment)
        assert "comment" in exc.value.message_dict
    submitted.refresh_from_db()
    assert submitted.status == AssessmentStatus.SUBMITTED


@pytest.mark.parametrize("status", [AssessmentStatus.SUBMITTED, AssessmentStatus.APPROVED])
def test_answers_are_frozen_outside_draft_and_returned(org, status):
    assessment = make_assessment(org.project, levels=2, status=status)
    answer = assessment.answers.get(practice__code="MLS-01")
    with pytest.raises(ValidationError, match="only change"):
        services.answer_update(actor=org.lead, answer=answer, level=4)
    answer.refresh_from_db()
    assert answer.level == 2


def test_an_approved_assessment_is_immutable(org):
    approved = make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    with pytest.raises(ValidationError):
        services.assessment_submit(actor=org.lead, assessment=approved)
    with pytest.raises(ValidationError):
        services.assessment_approve(actor=org.officer, assessment=approved)
    with pytest.raises(ValidationError):
        services.assessment_return(actor=org.officer, assessment=approved, comment="Reopen")
    approved.refresh_from_db()
    assert approved.status == AssessmentStatus.APPROVED


def test_only_a_submitted_assessment_can_be_reviewed(org, draft):
    with pytest.raises(ValidationError, match="Only a submitted"):
        services.assessment_approve(actor=org.officer, assessment=draft)


def test_approving_supersedes_the_previous_approved_assessment(org):
    old = make_assessment(org.project, cycle="2026-Q3", levels=1, status=AssessmentStatus.APPROVED)
    new = make_assessment(org.project, cycle="2026-Q4", levels=3, status=AssessmentStatus.SUBMITTED)
    services.assessment_approve(actor=org.officer, assessment=new)
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.superseded_at == new.reviewed_at and new.superseded_at is None


def test_a_new_cycle_starts_from_the_last_approved_answers(org):
    make_assessment(org.project, cycle="2026-Q3", levels=3, na=("MLS-14",), status=AssessmentStatus.APPROVED)
    fresh = services.assessment_start(actor=org.member, project=org.project, cycle="2026-Q4")
    assert set(fresh.answers.exclude(practice__code="MLS-14").values_list("level", flat=True)) == {3}
    assert fresh.answers.get(practice__code="MLS-14").not_applicable
    blank = services.assessment_start(actor=org.member, project=org.project, cycle="2027-Q1", copy_previous=False)
    assert set(blank.answers.values_list("level", flat=True)) == {None}


def test_every_answer_change_is_audited_with_before_and_after(org, draft):
    answer = draft.answers.get(practice__code="MLS-05")
    services.answer_update(actor=org.member, answer=answer, level=2, owner="member")
    event = AuditEvent.objects.filter(action="answer.update", object_id=str(answer.pk)).get()
    assert event.actor == org.member
    assert event.changes["before"] == {"level": None, "owner": ""}
    assert event.changes["after"] == {"level": 2, "owner": "member"}


def test_a_new_practice_added_by_the_organisation_appears_in_new_assessments(org):
    from controls.services import practice_create_custom

    practice = practice_create_custom(
        actor=org.admin, title="Publish model cards", category="Governance and people",
        description="Every production model has a model card.", weight=1,
        levels=[{"level": i, "summary": f"Level {i}"} for i in range(5)],
    )
    assert practice.code == "ORG-01" and practice.is_custom
    assessment = services.assessment_start(actor=org.lead, project=org.project, cycle="2026-Q4")
    assert assessment.answers.count() == 26
    assert Answer.objects.filter(assessment=assessment, practice=practice).exists()
    assert Practice.objects.active().count() == 26
