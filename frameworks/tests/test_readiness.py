"""Readiness over time, EU AI Act applicability, the dashboard's prohibited flag, and agreement with the scorecard."""

import datetime as dt
import random

import pytest
from django.utils import timezone

from accounts.tests.factories import TeamFactory
from assessments.choices import AssessmentStatus, RiskTier
from assessments.models import Answer
from assessments.tests.factories import ProjectFactory, make_assessment
from checks.models import CheckRun
from controls.models import Practice
from frameworks.models import Framework
from frameworks.readiness import framework_readiness, load_structures
from frameworks.scope import ReadinessScope
from scoring.models import ScoreSnapshot
from scoring.rollup import refresh_projects
from scoring.services import project_scores, scorecard_for, snapshot_scores

URL = "/api/v1/frameworks/{}/readiness/"


def rows(response) -> dict:
    assert response.status_code == 200, response.content
    return {r["ref"]: r for r in response.json()["requirements"]}


# --- points in time --------------------------------------------------------------------------------

@pytest.fixture
def history(org):
    """Approved at level 1 five days ago (snapshot taken that day), at level 3 today."""
    five_days_ago = timezone.localdate() - dt.timedelta(days=5)
    type(org.project).objects.filter(pk__in=[org.project.pk, org.other_project.pk]).update(
        created_at=timezone.now() - dt.timedelta(days=30))
    make_assessment(org.project, cycle="2026-Q3", levels=1, status=AssessmentStatus.APPROVED,
                    reviewed_at=timezone.now() - dt.timedelta(days=5, hours=1))
    snapshot_scores(day=five_days_ago)
    make_assessment(org.project, cycle="2026-Q4", levels=3, status=AssessmentStatus.APPROVED)
    return five_days_ago


def test_a_past_day_reads_that_days_snapshot_and_today_is_live(org, api, history):
    past = api(org.officer).get(URL.format("nist-ai-rmf"), {"as_of": history.isoformat()})
    assert past.json()["source"] == "snapshot" and past.json()["as_of"] == history.isoformat()
    assert rows(past)["MEASURE 2.7"]["readiness"] == 25.0
    now = api(org.officer).get(URL.format("nist-ai-rmf"))
    assert now.json()["source"] == "live" and rows(now)["MEASURE 2.7"]["readiness"] == 75.0
    # The past figures come from the stored snapshot, not from recomputing history:
    practice = Practice.objects.get(code="MLS-01")
    ScoreSnapshot.objects.filter(day=history, practice=practice, team=org.team).update(weighted_sum=0)
    tampered = rows(api(org.officer).get(URL.format("iso-27001"), {"as_of": history.isoformat()}))
    assert tampered["A.8.24"]["practice_scores"][0] == {**tampered["A.8.24"]["practice_scores"][0], "code": "MLS-01",
                                                        "score": 0.0}


def test_a_past_day_without_snapshots_or_a_project_scope_is_computed_from_history(org, api, history):
    day = history.isoformat()
    project = api(org.officer).get(URL.format("nist-ai-rmf"), {"as_of": day, "project": org.project.pk})
    assert project.json()["source"] == "history" and rows(project)["MEASURE 2.7"]["readiness"] == 25.0
    earlier = (history - dt.timedelta(days=2)).isoformat()
    before = api(org.officer).get(URL.format("nist-ai-rmf"), {"as_of": earlier})
    assert before.json()["source"] == "history" and rows(before)["MEASURE 2.7"]["readiness"] is None


def test_the_weakest_projects_of_a_past_day_are_as_they_stood_then(org, api, history):
    past = rows(api(org.officer).get(URL.format("owasp-ml"), {"as_of": history.isoformat()}))
    assert past["ML05:2023"]["weakest_projects"] == [
        {"id": org.project.pk, "name": "Card fraud scorer", "team": "fraud", "readiness": 25.0}]
    now = rows(api(org.officer).get(URL.format("owasp-ml")))
    assert now["ML05:2023"]["weakest_projects"][0]["readiness"] == 75.0


# --- EU AI Act applicability -----------------------------------------------------------------------

HIGH_RISK = ["Article 8", "Article 9", "Article 10", "Article 11", "Article 12", "Article 13", "Article 14",
             "Article 15", "Article 16", "Article 17", "Article 72", "Article 73"]


def classify(project, role, risk_class):
    project.ai_act_role, project.ai_act_risk_class = role, risk_class
    project.save(update_fields=["ai_act_role", "ai_act_risk_class"])


def ai_act(api, user, project) -> set[str]:
    return set(rows(api(user).get(URL.format("eu-ai-act"), {"project": project.pk})))


def test_a_high_risk_provider_sees_the_high_risk_obligations(org, api):
    classify(org.project, "provider", "high-risk")
    refs = ai_act(api, org.lead, org.project)
    assert set(HIGH_RISK) <= refs and {"Article 15(5)", "Article 9(8)", "Article 4"} <= refs
    assert not refs & {"Article 5", "Article 26", "Article 23", "Article 50(3)", "Article 55"}


def test_a_minimal_risk_deployer_does_not_see_them(org, api):
    classify(org.project, "deployer", "minimal-risk")
    assert ai_act(api, org.lead, org.project) == {"Chapter I", "Article 4"}


def test_a_high_risk_deployer_sees_the_deployers_obligations_not_the_providers(org, api):
    classify(org.project, "deployer", "high-risk")
    refs = ai_act(api, org.lead, org.project)
    assert {"Article 26", "Article 26(6)", "Article 27", "Article 25", "Article 4"} <= refs
    assert not refs & set(HIGH_RISK)


def test_transparency_and_gpai_classes_see_their_own_articles(org, api):
    classify(org.project, "provider", "limited-risk")
    assert ai_act(api, org.lead, org.project) == {"Chapter I", "Article 4", "Chapter IV", "Article 50",
                                                  "Article 50(1)", "Article 50(2)"}
    classify(org.project, "provider", "gpai-systemic")
    assert {"Article 53", "Article 55", "Article 55(1)(a)"} <= ai_act(api, org.lead, org.project)
    classify(org.project, "provider", "gpai")
    assert "Article 55" not in ai_act(api, org.lead, org.project)


def test_a_prohibited_project_sees_article_5_and_an_unclassified_one_sees_nothing(org, api, client):
    classify(org.project, "deployer", "prohibited")
    assert ai_act(api, org.lead, org.project) == {"Chapter II", "Article 5"}
    response = api(org.lead).get(URL.format("eu-ai-act"), {"project": org.other_project.pk})
    assert response.status_code == 404
    data = api(org.officer).get(URL.format("eu-ai-act"), {"project": org.other_project.pk}).json()
    assert data["requirements"] == [] and data["unclassified_projects"] == 1
    client.force_login(org.lead)
    page = client.get("/frameworks/eu-ai-act/", {"project": org.project.pk}).content.decode()
    assert "Prohibited practice (Article 5)" in page and 'id="req-article-5"' in page
    assert 'id="req-article-4"' not in page


def test_the_organisation_view_counts_each_article_over_the_projects_it_binds(org, api):
    classify(org.project, "provider", "high-risk")
    classify(org.other_project, "deployer", "minimal-risk")
    make_assessment(org.project, levels=1, status=AssessmentStatus.APPROVED)
    make_assessment(org.other_project, levels=4, status=AssessmentStatus.APPROVED)
    found = rows(api(org.officer).get(URL.format("eu-ai-act")))
    assert found["Article 15"]["projects"] == 1 and found["Article 15"]["readiness"] == 25.0
    assert found["Article 4"]["projects"] == 2 and found["Article 4"]["readiness"] == 62.5
    assert "Article 26" not in found  # binds no project in scope


def test_a_prohibited_project_is_flagged_on_the_dashboard(org, client):
    client.force_login(org.officer)
    assert "Prohibited AI practice" not in client.get("/dashboard/").content.decode()
    classify(org.other_project, "provider", "prohibited")
    page = client.get("/dashboard/").content.decode()
    assert "Prohibited AI practice" in page and "Home feed ranker" in page
    assert f"/frameworks/eu-ai-act/?project={org.other_project.pk}" in page


# --- agreement with the scorecard ------------------------------------------------------------------

@pytest.fixture
def random_org(db):
    rng = random.Random(7)
    teams = [TeamFactory(slug=f"rand-{i}", name=f"Random {i}") for i in range(3)]
    codes = list(Practice.objects.active().values_list("code", flat=True))
    for n in range(9):
        project = ProjectFactory(team=teams[n % 3], risk_tier=rng.choice(list(RiskTier.values)),
                                 ai_act_role=rng.choice(["provider", "deployer"]),
                                 ai_act_risk_class=rng.choice(["high-risk", "minimal-risk", "limited-risk"]))
        levels = {c: rng.choice([0, 1, 2, 3, 4, None]) for c in codes}
        na = tuple(c for c in codes if rng.random() < 0.1)
        make_assessment(project, levels={c: v for c, v in levels.items() if v is not None}, na=na,
                        status=AssessmentStatus.APPROVED if n != 4 else AssessmentStatus.DRAFT)
        if n % 2:
            CheckRun.objects.create(project=project, definition_id="endpoint-transport", status="failed",
                                    finished_at=timezone.now())
    return teams


def expected(structure, requirement, scores, weights):
    """docs/scoring.md's rule, written out: the weighted mean of the scored practices behind it."""
    codes = [p.code for p, inside in zip(structure.practices, structure.closure[structure.requirements.index(requirement)],
                                         strict=True) if inside]
    scored = [(scores[c], weights[c]) for c in codes if scores.get(c) is not None]
    return sum(s * w for s, w in scored) / sum(w for _s, w in scored) if scored else None


@pytest.mark.parametrize("key", ["nist-ai-rmf", "iso-42001", "owasp-llm"])
def test_readiness_agrees_with_the_scorecards_practice_scores_on_a_random_organisation(random_org, key):
    framework = Framework.objects.get(key=key)
    structure = load_structures([framework])[framework.pk]
    weights = dict(Practice.objects.active().values_list("code", "weight"))
    for teams in (random_org, random_org[:1]):
        card = scorecard_for(teams)
        scores = {p.code: p.score for p in card.practices}
        result = framework_readiness(framework, ReadinessScope("team" if len(teams) == 1 else "organisation", teams))
        for row in result.requirements:
            want = expected(structure, row.requirement, scores, weights)
            assert (row.readiness is None) == (want is None) and (want is None or abs(row.readiness - want) < 1e-9), row.ref
    # The weakest projects are the projects' own readiness, from their own capped scores:
    code_of = dict(Practice.objects.values_list("pk", "code"))
    per_project = {pid: {code_of[k]: c.score for k, c in ps.cells.items()}
                   for pid, ps in project_scores(team_ids=[t.pk for t in random_org]).items()}
    result = framework_readiness(framework, ReadinessScope("organisation", random_org))
    checked = 0
    for row in result.requirements:
        codes = {p.code for p in row.practices}
        own = {}
        for pid, scores in per_project.items():
            scored = [(scores[c], weights[c]) for c in codes if scores.get(c) is not None]
            if scored:
                own[pid] = sum(s * w for s, w in scored) / sum(w for _s, w in scored)
        gaps = sorted((round(v, 9), pid) for pid, v in own.items() if v < 100)[:3]
        assert [(w.id, round(w.readiness, 9)) for w in row.weakest] == [(pid, v) for v, pid in gaps], row.ref
        checked += bool(gaps)
    assert checked > 5


def test_not_applicable_answers_neither_raise_nor_lower_readiness(org, api):
    make_assessment(org.project, levels={"MLS-01": 2}, na=("MLS-22",), status=AssessmentStatus.APPROVED)
    row = rows(api(org.officer).get(URL.format("iso-27001")))["A.8.24"]  # MLS-01 and MLS-22
    assert row["readiness"] == 50.0 and row["coverage"] == 50.0  # 2 answered of 2 practices × 2 projects
    Answer.objects.filter(practice__code="MLS-22").update(not_applicable=False, justification="", level=0)
    refresh_projects([org.project.pk])  # a direct database write sends no signal: the rollup is told here
    assert rows(api(org.officer).get(URL.format("iso-27001")))["A.8.24"]["readiness"] == 25.0
