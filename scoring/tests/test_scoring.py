"""Scoring rules beyond the worked example: N/A, missing assessments, tiers, time, scope."""

import datetime as dt

import pytest
from django.utils import timezone

from assessments import services as assessment_services
from assessments.choices import AssessmentStatus, RiskTier
from assessments.tests.factories import ProjectFactory, make_assessment
from checks.models import CheckRun
from scoring.models import ScoreSnapshot
from scoring.services import project_scores, scorecard_for, snapshot_scores


def team_card(card, team):
    return next(t for t in card.teams if t.team.pk == team.pk)


def practice(team_score, code):
    return next(p for p in team_score.practices if p.practice.code == code)


def test_a_team_without_approved_assessments_has_no_score_and_zero_coverage(org):
    make_assessment(org.project, levels=4, status=AssessmentStatus.SUBMITTED)
    card = scorecard_for([org.team])
    team = team_card(card, org.team)
    assert team.score is None and team.coverage == 0.0 and team.verified is None
    assert all(p.score is None and p.coverage == 0.0 for p in team.practices)


def test_not_applicable_answers_are_excluded_not_zero(org):
    na = [f"MLS-{n:02d}" for n in range(2, 26)]
    make_assessment(org.project, levels={"MLS-01": 2}, na=na, status=AssessmentStatus.APPROVED)
    team = team_card(scorecard_for([org.team]), org.team)
    assert practice(team, "MLS-01").score == 50.0
    assert practice(team, "MLS-05").score is None and practice(team, "MLS-05").coverage == 100.0
    assert team.score == 50.0  # only MLS-01 is scored


def test_every_risk_tier_weighs_as_documented(org):
    for tier, level in ((RiskTier.LOW, 4), (RiskTier.MEDIUM, 0), (RiskTier.HIGH, 4), (RiskTier.CRITICAL, 0)):
        make_assessment(ProjectFactory(team=org.team, risk_tier=tier), levels=level, status=AssessmentStatus.APPROVED)
    team = team_card(scorecard_for([org.team]), org.team)
    # (1×100 + 2×0 + 3×100 + 4×0) / (1 + 2 + 3 + 4) = 40
    assert practice(team, "MLS-07").score == 40.0
    assert team.score == 40.0
    assert team.coverage == 80.0  # 4 of 5 projects (the fixture's project has no assessment)


def test_practice_weights_shape_the_team_overall(org):
    # MLS-02 weighs 3, MLS-14 weighs 1: (3×100 + 1×0) / 4 = 75
    na = [f"MLS-{n:02d}" for n in range(1, 26) if n not in (2, 14)]
    make_assessment(org.project, levels={"MLS-02": 4, "MLS-14": 0}, na=na, status=AssessmentStatus.APPROVED)
    assert team_card(scorecard_for([org.team]), org.team).score == 75.0


def test_only_the_latest_approved_assessment_counts(org):
    make_assessment(org.project, cycle="2026-Q2", levels=1, status=AssessmentStatus.APPROVED,
                    reviewed_at=timezone.now() - dt.timedelta(days=60))
    make_assessment(org.project, cycle="2026-Q3", levels=3, status=AssessmentStatus.APPROVED,
                    reviewed_at=timezone.now() - dt.timedelta(days=5))
    make_assessment(org.project, cycle="2026-Q4", levels=0, status=AssessmentStatus.SUBMITTED)
    assert team_card(scorecard_for([org.team]), org.team).score == 75.0


def test_archived_projects_leave_the_scorecard(org):
    make_assessment(org.project, levels=4, status=AssessmentStatus.APPROVED)
    assessment_services.project_archive(actor=org.officer, project=org.project)
    team = team_card(scorecard_for([org.team]), org.team)
    assert team.score is None and team.projects == 0


def test_a_failing_check_caps_only_the_practices_it_covers(org):
    make_assessment(org.project, levels=4, status=AssessmentStatus.APPROVED)
    CheckRun.objects.create(project=org.project, definition_id="dependency-vulnerabilities", status="failed",
                            finished_at=timezone.now())
    team = team_card(scorecard_for([org.team]), org.team)
    assert practice(team, "MLS-03").score == 25.0 and practice(team, "MLS-03").capped == 1
    assert practice(team, "MLS-04").score == 100.0


def test_an_error_run_neither_caps_nor_verifies(org):
    make_assessment(org.project, levels=4, status=AssessmentStatus.APPROVED)
    CheckRun.objects.create(project=org.project, definition_id="dependency-vulnerabilities", status="error",
                            finished_at=timezone.now())
    p = practice(team_card(scorecard_for([org.team]), org.team), "MLS-03")
    assert p.score == 100.0 and p.verified == 0.0


def test_a_level_below_the_cap_is_not_raised(org):
    make_assessment(org.project, levels=0, status=AssessmentStatus.APPROVED)
    CheckRun.objects.create(project=org.project, definition_id="dependency-vulnerabilities", status="failed",
                            finished_at=timezone.now())
    p = practice(team_card(scorecard_for([org.team]), org.team), "MLS-03")
    assert p.score == 0.0 and p.capped == 0


def test_project_scores_roll_up_by_practice_weight(org):
    make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    scores = project_scores(team_ids=[org.team.pk])
    assert scores[org.project.pk].score == 50.0
    assert org.other_project.pk not in scores


def test_history_as_of_a_past_day_ignores_later_approvals(org):
    reviewed = timezone.now() - dt.timedelta(days=10)
    make_assessment(org.project, cycle="2026-Q3", levels=1, status=AssessmentStatus.APPROVED, reviewed_at=reviewed)
    make_assessment(org.project, cycle="2026-Q4", levels=4, status=AssessmentStatus.APPROVED)
    past = (timezone.now() - dt.timedelta(days=5)).date()
    assert team_card(scorecard_for([org.team], as_of=past), org.team).score == 25.0
    assert team_card(scorecard_for([org.team]), org.team).score == 100.0
    before = (timezone.now() - dt.timedelta(days=20)).date()
    assert team_card(scorecard_for([org.team], as_of=before), org.team).score is None


def test_as_of_a_past_day_reads_that_days_snapshot(org, api):
    make_assessment(org.project, cycle="2026-Q3", levels=2, status=AssessmentStatus.APPROVED,
                    reviewed_at=timezone.now() - dt.timedelta(days=3))
    past = timezone.localdate() - dt.timedelta(days=2)
    snapshot_scores(day=past)
    make_assessment(org.project, cycle="2026-Q4", levels=4, status=AssessmentStatus.APPROVED)
    # Tamper with the stored sums: the API must answer from the snapshot, not recompute from history.
    ScoreSnapshot.objects.filter(day=past, team=org.team, practice__code="MLS-01").update(weighted_sum=60.0, weight_total=2.0)
    data = api(org.officer).get(f"/api/v1/scorecard/?team=fraud&as_of={past.isoformat()}").data
    assert data["source"] == "snapshot" and data["as_of"] == past.isoformat()
    team = data["teams"][0]
    scores = {p["code"]: p["score"] for p in team["practices"]}
    assert scores["MLS-01"] == 30.0 and scores["MLS-02"] == 50.0
    live = api(org.officer).get("/api/v1/scorecard/?team=fraud").json()
    assert live["source"] == "live" and live["teams"][0]["score"] == 100.0


def test_a_snapshot_day_is_rewritten_not_duplicated(org):
    make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    first = snapshot_scores()
    assert snapshot_scores() == first
    assert ScoreSnapshot.objects.filter(day=timezone.localdate()).count() == first


def test_scoring_prunes_its_own_snapshots_older_than_the_retention(org):
    from mlsec_portal.schedules import default_schedules
    from scoring.services import prune_snapshots

    make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    today, old = timezone.localdate(), timezone.localdate() - dt.timedelta(days=500)
    kept, pruned = snapshot_scores(day=today), snapshot_scores(day=old)
    assert prune_snapshots(retention_days=400) == pruned
    assert not ScoreSnapshot.objects.filter(day=old).exists()
    assert ScoreSnapshot.objects.filter(day=today).count() == kept
    assert ("Prune old score snapshots", "scoring.tasks.prune_snapshots_task", "35 4 * * *", []) in default_schedules()


def test_the_scorecard_api_is_scoped(org, api):
    make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    make_assessment(org.other_project, levels=4, status=AssessmentStatus.APPROVED)
    data = api(org.lead).get("/api/v1/scorecard/").json()
    assert [t["team"] for t in data["teams"]] == ["fraud"]
    assert data["organisation"]["score"] == 50.0  # the lead's scope only, not the other team's 100
    assert api(org.lead).get("/api/v1/scorecard/?team=recs").status_code == 404
    assert api(org.officer).get("/api/v1/scorecard/?team=recs").json()["teams"][0]["score"] == 100.0


@pytest.mark.parametrize("as_of", ["yesterday", "2026-13-01", "2999-01-01", "20261101"])
def test_a_bad_as_of_is_a_400(org, api, as_of):
    response = api(org.officer).get(f"/api/v1/scorecard/?as_of={as_of}")
    assert response.status_code == 400 and "as_of" in response.data


def test_the_fast_payload_matches_the_documented_serializer(org):
    from scoring.api.serializers import ScorecardSerializer, scorecard_payload

    make_assessment(org.project, levels=3, na=("MLS-14",), status=AssessmentStatus.APPROVED)
    card = scorecard_for([org.team, org.other_team])
    documented = ScorecardSerializer(card).data
    fast = scorecard_payload(card)
    assert fast == {**documented, "as_of": documented["as_of"]}
