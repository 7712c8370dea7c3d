"""The incremental rollup: every scoring event keeps it equal to the full recomputation, pages read it for
now, past days still read snapshots, and reconciliation reports (and alerts on) any difference."""

import datetime as dt
import logging

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.choices import OrgRole
from accounts.tests.factories import TeamFactory, UserFactory
from assessments import services as assessment_services
from assessments.choices import AcceptanceStatus, AssessmentStatus, RiskTier
from assessments.models import RiskAcceptance
from assessments.tests.factories import ProjectFactory, make_assessment
from audit.models import AuditEvent
from checks.models import CheckRun
from checks.runners.base import CheckResult
from checks.services import finish_run
from controls.models import Practice
from evidence.models import Evidence, EvidenceKind
from evidence.services import evidence_review
from scoring import rollup
from scoring.engine import score_inputs
from scoring.models import ProjectRollup, TeamRollup
from scoring.reconcile import expire
from scoring.services import scorecard_for, snapshot_scores
from scoring.tasks import expire_scores_task, reconcile_scores_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    officer = UserFactory(username="rollup-officer", org_role=OrgRole.OFFICER)
    team, other = TeamFactory(slug="rollup-a"), TeamFactory(slug="rollup-b")
    project = ProjectFactory(team=team, risk_tier=RiskTier.HIGH)
    second = ProjectFactory(team=team, risk_tier=RiskTier.LOW)
    third = ProjectFactory(team=other, risk_tier=RiskTier.CRITICAL)
    return officer, team, other, project, second, third


def approve(officer, project, levels, cycle="2026-Q4"):
    assessment = make_assessment(project, cycle=cycle, status=AssessmentStatus.SUBMITTED, levels=levels)
    return assessment_services.assessment_approve(actor=officer, assessment=assessment)


def cell(team, code):
    practice = Practice.objects.get(code=code)
    return TeamRollup.objects.filter(team=team, practice=practice).first()


def agree():
    assert rollup.differences() == []


def verdict(project, key, status):
    run = CheckRun.objects.create(project=project, definition_id=key, status="running", started_at=timezone.now())
    return finish_run(run, CheckResult(status, status))


def test_project_created_counts_at_once(world):
    _, team, *_ = world
    totals = TeamRollup.objects.get(team=team, practice__isnull=True)
    assert (totals.projects, totals.covered) == (2, 0)
    agree()


def test_approval_and_superseding(world):
    officer, team, _, project, *_ = world
    approve(officer, project, 2)
    assert cell(team, "MLS-01").weighted_sum == 3 * 50  # high tier (3) × level 2
    assert TeamRollup.objects.get(team=team, practice__isnull=True).covered == 1
    approve(officer, project, 4, cycle="2027-Q1")  # supersedes the first: counted once, with the new level
    assert (cell(team, "MLS-01").weighted_sum, cell(team, "MLS-01").covered) == (3 * 100, 1)
    approve(officer, project, 0, cycle="2026-Q1")  # an older cycle signed off later never counts
    assert cell(team, "MLS-01").weighted_sum == 3 * 100
    agree()


def test_check_verdicts_cap_and_verify(world):
    officer, team, _, project, *_ = world
    approve(officer, project, 3)
    verdict(project, "endpoint-transport", "failed")  # covers MLS-01: capped at level 1
    mls01 = cell(team, "MLS-01")
    assert (mls01.weighted_sum, mls01.capped, mls01.verified) == (3 * 25, 1, 0)
    verdict(project, "endpoint-transport", "passed")  # supersedes the failure through an update()
    mls01 = cell(team, "MLS-01")
    assert (mls01.weighted_sum, mls01.capped, mls01.verified) == (3 * 75, 0, 1)
    verdict(project, "endpoint-transport", "error")  # cannot decide: changes nothing
    assert cell(team, "MLS-01").verified == 1
    agree()


def test_evidence_accepted_rejected_and_expiring(world):
    officer, team, _, project, *_ = world
    approve(officer, project, 2)
    practice = Practice.objects.get(code="MLS-02")
    today = timezone.localdate()
    evidence = Evidence.objects.create(project=project, practice=practice, kind=EvidenceKind.NOTE, title="IAM",
                                       text="reviewed", valid_until=today)
    evidence_review(actor=officer, evidence=evidence, status="accepted", note="fine")
    assert (cell(team, "MLS-02").verified, cell(team, "MLS-02").stale) == (1, False)
    agree()
    # Midnight passes: the evidence ended yesterday, nothing was written; the daily task refreshes it.
    Evidence.objects.filter(pk=evidence.pk).update(valid_until=today - dt.timedelta(days=1))
    assert sorted(d.field for d in rollup.differences() if d.level == "team") == ["stale", "verified"]
    assert expire_scores_task() == 1
    assert (cell(team, "MLS-02").verified, cell(team, "MLS-02").stale) == (0, True)
    agree()
    other = Evidence.objects.create(project=project, practice=practice, kind=EvidenceKind.NOTE, title="IAM 2",
                                    text="again", valid_until=today + dt.timedelta(days=9))
    evidence_review(actor=officer, evidence=other, status="rejected", note="not this")
    assert cell(team, "MLS-02").verified == 0
    agree()


def test_risk_acceptance_decided_and_expiring(world):
    officer, team, _, project, *_ = world
    lead = UserFactory(username="rollup-lead")
    approve(officer, project, 1)
    practice = Practice.objects.get(code="MLS-14")
    today = timezone.localdate()
    acceptance = RiskAcceptance.objects.create(project=project, practice=practice, proposed_by=lead,
                                               justification="Not on the roadmap for this model at all.",
                                               expires_on=today + dt.timedelta(days=1))
    assert cell(team, "MLS-14").accepted is False
    assessment_services.acceptance_decide(actor=officer, acceptance=acceptance, status=AcceptanceStatus.APPROVED)
    assert cell(team, "MLS-14").accepted is True
    RiskAcceptance.objects.filter(pk=acceptance.pk).update(expires_on=today - dt.timedelta(days=1))
    assert expire(today=today) == 1
    assert cell(team, "MLS-14").accepted is False
    agree()


def test_project_archived_and_moved(world):
    officer, team, other, project, second, third = world
    approve(officer, project, 2)
    approve(officer, second, 4)
    second.team = other  # moved (the admin does it; no service changes a project's team)
    second.save()
    assert cell(team, "MLS-01").weighted_sum == 3 * 50
    assert cell(other, "MLS-01").weight_total == 1 + 0  # the moved low-tier project; the other has no answers
    assert TeamRollup.objects.get(team=other, practice__isnull=True).projects == 2
    agree()
    assessment_services.project_archive(actor=officer, project=project)
    assert cell(team, "MLS-01") is None
    assert TeamRollup.objects.get(team=team, practice__isnull=True).projects == 0
    agree()
    third.delete()  # never assessed (an assessed project is protected)
    assert TeamRollup.objects.get(team=other, practice__isnull=True).projects == 1
    agree()


def test_catalogue_weights_change_the_overall_not_the_cells(world):
    officer, team, _, project, *_ = world
    approve(officer, project, {"MLS-01": 4, "MLS-02": 0})
    before = scorecard_for([team]).teams[0].score
    Practice.objects.filter(code="MLS-01").update(weight=3)
    Practice.objects.filter(code="MLS-02").update(weight=1)
    after = scorecard_for([team]).teams[0].score
    assert after > before  # the weights are read at request time, over the same sums
    agree()


def test_the_scorecard_reads_the_rollup_for_now_and_snapshots_for_the_past(world, api):
    officer, team, _, project, *_ = world
    make_assessment(project, status=AssessmentStatus.APPROVED, levels=2,
                    reviewed_at=timezone.now() - dt.timedelta(days=2))
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    snapshot_scores(day=yesterday)
    TeamRollup.objects.filter(team=team, practice__code="MLS-01").update(weighted_sum=3 * 100)  # tampered
    body = api(officer).get("/api/v1/scorecard/", {"team": team.slug}).json()
    now = next(p for p in body["teams"][0]["practices"] if p["code"] == "MLS-01")
    assert now["score"] == 100.0 and body["source"] == "live"
    past = api(officer).get("/api/v1/scorecard/", {"team": team.slug, "as_of": yesterday.isoformat()}).json()
    assert past["source"] == "snapshot"
    assert next(p for p in past["teams"][0]["practices"] if p["code"] == "MLS-01")["score"] == 50.0


def test_reconcile_scores_exits_non_zero_on_a_difference_and_alerts(world, capsys, caplog):
    officer, team, _, project, *_ = world
    approve(officer, project, 2)
    call_command("reconcile_scores")
    assert "agree in every cell" in capsys.readouterr().out
    ProjectRollup.objects.filter(project=project, practice__code="MLS-03").update(scored=0)
    with caplog.at_level(logging.ERROR, logger="scoring.reconcile"), pytest.raises(CommandError, match="1 difference"):
        call_command("reconcile_scores")
    assert "project" in capsys.readouterr().out
    assert "disagrees" in caplog.text
    event = AuditEvent.objects.filter(action="scores.reconcile_mismatch").latest("seq")
    assert event.changes["after"]["differences"] == 1
    with pytest.raises(CommandError, match="rebuilt"):
        call_command("reconcile_scores", "--repair")
    call_command("reconcile_scores")  # repaired


def test_nightly_reconciliation_alerts_and_repairs(world):
    officer, team, _, project, *_ = world
    approve(officer, project, 2)
    assert reconcile_scores_task() == 0
    assert not AuditEvent.objects.filter(action="scores.reconcile_mismatch").exists()
    TeamRollup.objects.filter(team=team, practice__code="MLS-01").delete()
    assert reconcile_scores_task() > 0
    assert AuditEvent.objects.filter(action="scores.reconcile_mismatch").latest("seq").changes["after"]["repaired"]
    agree()


def test_the_schedules_include_expiry_and_reconciliation():
    from mlsec_portal.schedules import default_schedules

    jobs = {name: (task, spec) for name, task, spec, _ in default_schedules()}
    assert jobs["Score expiry at midnight"] == ("scoring.tasks.expire_scores_task", "0 0 * * *")
    assert jobs["Score reconciliation"][0] == "scoring.tasks.reconcile_scores_task"


def test_rebuild_equals_incremental(world):
    officer, team, _, project, second, third = world
    approve(officer, project, 2)
    approve(officer, third, 3)
    verdict(third, "endpoint-authentication", "failed")
    columns = ("team_id", "practice_id", "weighted_sum", "capped", "covered", "projects")
    before = sorted(TeamRollup.objects.values_list(*columns), key=str)
    rollup.rebuild()
    assert sorted(TeamRollup.objects.values_list(*columns), key=str) == before
    expected = score_inputs(moment=timezone.now())
    assert {k: c.weighted_sum for k, c in rollup.team_inputs().cells.items()} == {
        k: c.weighted_sum for k, c in expected.cells.items()}


def test_a_bulk_seed_builds_the_rollup_once_and_it_reconciles(db):
    import io

    call_command("seed_demo", teams=3, projects=30, history_days=1, checks="none", stdout=io.StringIO())
    assert TeamRollup.objects.filter(practice__isnull=True).count() == 3
    assert ProjectRollup.objects.filter(practice__isnull=False).exists()
    agree()
