"""One truth per project: a single approved assessment counts, whatever the order or timing of approvals."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from assessments import services
from assessments.choices import AssessmentStatus
from assessments.models import Assessment, Project
from assessments.tests.factories import make_assessment
from audit.models import AuditEvent
from scoring.engine import score_inputs
from scoring.services import scorecard_for


def team_score(team):
    return next(t for t in scorecard_for([team]).teams if t.team.pk == team.pk)


def test_the_database_refuses_a_second_current_approved_assessment_for_a_project(org):
    make_assessment(org.project, cycle="2026-Q3", levels=2, status=AssessmentStatus.APPROVED)
    newer = make_assessment(org.project, cycle="2026-Q4", levels=3, status=AssessmentStatus.SUBMITTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.filter(pk=newer.pk).update(status=AssessmentStatus.APPROVED, reviewed_at=timezone.now())
    assert Assessment.objects.filter(project=org.project, status="approved", superseded_at__isnull=True).count() == 1


def test_a_superseded_approval_does_not_collide_with_the_current_one(org):
    make_assessment(org.project, cycle="2026-Q2", levels=1, status=AssessmentStatus.APPROVED)
    make_assessment(org.project, cycle="2026-Q3", levels=2, status=AssessmentStatus.APPROVED)
    make_assessment(org.project, cycle="2026-Q4", levels=3, status=AssessmentStatus.APPROVED)
    assert org.project.assessments.filter(status=AssessmentStatus.APPROVED).count() == 3
    assert list(Assessment.objects.filter(project=org.project, status="approved", superseded_at__isnull=True).values_list("cycle", flat=True)) == [
        "2026-Q4"]


def test_approving_a_newer_cycle_supersedes_the_current_one_at_the_same_instant(org):
    old = make_assessment(org.project, cycle="2026-Q3", levels=1, status=AssessmentStatus.APPROVED)
    new = make_assessment(org.project, cycle="2026-Q4", levels=3, status=AssessmentStatus.SUBMITTED)
    services.assessment_approve(actor=org.officer, assessment=new)
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.superseded_at == new.reviewed_at and new.superseded_at is None
    assert team_score(org.team).score == 75.0
    event = AuditEvent.objects.get(action="assessment.approve", object_id=str(new.pk))
    assert event.changes["after"]["counts"] is True and event.changes["after"]["supersedes"] == old.pk


def test_approving_an_older_cycle_after_a_newer_one_keeps_the_newer_one_counting(org):
    older = make_assessment(org.project, cycle="2026-Q3", levels=1, status=AssessmentStatus.SUBMITTED)
    newer = make_assessment(org.project, cycle="2026-Q4", levels=3, status=AssessmentStatus.SUBMITTED)
    services.assessment_approve(actor=org.officer, assessment=newer)
    services.assessment_approve(actor=org.officer, assessment=older, comment="Signed off late, for the record.")
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.status == newer.status == AssessmentStatus.APPROVED
    assert newer.superseded_at is None  # Q4 still counts
    assert older.superseded_at == older.reviewed_at  # Q3's window is empty: it never counts
    assert team_score(org.team).score == 75.0 and team_score(org.team).covered_projects == 1
    event = AuditEvent.objects.get(action="assessment.approve", object_id=str(older.pk))
    assert event.changes["after"]["counts"] is False and event.changes["after"]["superseded_by"] == newer.pk


def test_cycles_are_ordered_by_the_period_they_cover(org):
    def assessment(cycle):
        return Assessment(project=org.project, cycle=cycle)

    assert assessment("2026-Q4").is_newer_cycle_than(assessment("2026-Q3"))
    assert assessment("2027-Q1").is_newer_cycle_than(assessment("2026-FY"))
    assert assessment("2026-H2").is_newer_cycle_than(assessment("2026-Q2"))
    assert assessment("2026-Q4").is_newer_cycle_than(assessment("2026-FY"))  # same end, the later start
    assert not assessment("2026-Q1").is_newer_cycle_than(assessment("2026-H1"))


def test_the_scoring_statement_counts_a_project_once_even_when_approval_windows_overlap(org):
    """A database writer (or a restored backup) left two approvals counting at once: one still wins."""
    now = timezone.now()
    Project.objects.filter(pk=org.project.pk).update(created_at=now - dt.timedelta(days=30))
    first = make_assessment(org.project, cycle="2026-Q3", levels=1, status=AssessmentStatus.APPROVED,
                            reviewed_at=now - dt.timedelta(days=10))
    second = make_assessment(org.project, cycle="2026-Q4", levels=3, status=AssessmentStatus.APPROVED,
                             reviewed_at=now - dt.timedelta(days=5))
    Assessment.objects.filter(pk=first.pk).update(superseded_at=now - dt.timedelta(days=1))  # overlaps `second`
    second.refresh_from_db()
    assert second.superseded_at is None

    inputs = score_inputs(moment=now - dt.timedelta(days=3), team_ids=[org.team.pk])
    totals = inputs.totals[org.team.pk]
    assert (totals.projects, totals.covered) == (1, 1)
    cells = [cell for (team_id, _), cell in inputs.cells.items() if team_id == org.team.pk]
    assert len(cells) == 25 and all(cell.covered == 1 and cell.score == 75.0 for cell in cells)

    card = scorecard_for([org.team], as_of=(now - dt.timedelta(days=3)).date())
    team = next(t for t in card.teams if t.team.pk == org.team.pk)
    assert (team.projects, team.covered_projects, team.coverage, team.score) == (1, 1, 100.0, 75.0)
