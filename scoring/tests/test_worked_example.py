"""docs/scoring.md's worked example, reproduced number for number through the scorecard API."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.choices import OrgRole
from accounts.tests.factories import TeamFactory, UserFactory
from assessments.choices import AcceptanceStatus, AssessmentStatus, RiskTier
from assessments.models import Answer, RiskAcceptance
from assessments.tests.factories import ProjectFactory, make_assessment
from checks.models import CheckRun
from controls.models import Practice
from evidence.models import Evidence, EvidenceKind, EvidenceStatus

EXAMPLE = ("MLS-01", "MLS-02", "MLS-14")


def approved(project, levels, na=()):
    """An approved assessment answering only the example's three practices."""
    assessment = make_assessment(project, levels=levels, na=na, status=AssessmentStatus.APPROVED,
                                 reviewed_at=timezone.now() - dt.timedelta(hours=2))
    Answer.objects.filter(assessment=assessment).exclude(practice__code__in=EXAMPLE).delete()
    return assessment


@pytest.fixture
def officer(db):
    return UserFactory(username="example-officer", org_role=OrgRole.OFFICER)


@pytest.fixture
def example(officer):
    lead = UserFactory(username="example-lead")
    now = timezone.now()
    fraud, recs = TeamFactory(name="Fraud detection", slug="fraud-x"), TeamFactory(name="Recommendations", slug="recs-x")
    card = ProjectFactory(team=fraud, name="Card fraud scorer", risk_tier=RiskTier.CRITICAL)
    chargeback = ProjectFactory(team=fraud, name="Chargeback predictor", risk_tier=RiskTier.LOW)
    merchant = ProjectFactory(team=fraud, name="Merchant risk model", risk_tier=RiskTier.MEDIUM)
    feed = ProjectFactory(team=recs, name="Home feed ranker", risk_tier=RiskTier.HIGH)
    approved(card, {"MLS-01": 3, "MLS-02": 2}, na=("MLS-14",))
    approved(chargeback, {"MLS-01": 1, "MLS-02": 4, "MLS-14": 0})
    make_assessment(merchant, levels=2)  # a draft: not scored, lowers coverage
    approved(feed, {"MLS-01": 2, "MLS-02": 1}, na=("MLS-14",))
    hour_ago = now - dt.timedelta(hours=1)
    CheckRun.objects.create(project=feed, definition_id="endpoint-transport", status="failed",
                            started_at=hour_ago, finished_at=hour_ago)
    CheckRun.objects.create(project=chargeback, definition_id="endpoint-authentication", status="passed",
                            started_at=hour_ago, finished_at=hour_ago)
    practice = {p.code: p for p in Practice.objects.filter(code__in=EXAMPLE)}
    Evidence.objects.create(project=card, practice=practice["MLS-01"], kind=EvidenceKind.NOTE, title="KMS key policy",
                            text="All buckets use SSE-KMS.", status=EvidenceStatus.ACCEPTED, reviewed_at=hour_ago,
                            valid_until=timezone.localdate() + dt.timedelta(days=365))
    Evidence.objects.create(project=feed, practice=practice["MLS-02"], kind=EvidenceKind.LINK, title="IAM review",
                            url="https://wiki.example/iam", valid_until=timezone.localdate() - dt.timedelta(days=1))
    RiskAcceptance.objects.create(project=chargeback, practice=practice["MLS-14"], proposed_by=lead,
                                  justification="Federated learning is not on the roadmap for this model.",
                                  expires_on=timezone.localdate() + dt.timedelta(days=90),
                                  status=AcceptanceStatus.APPROVED, approved_by=officer, decided_by=officer,
                                  decided_at=hour_ago)
    return fraud, recs


def test_the_worked_example_of_docs_scoring(example, officer, api):
    data = api(officer).get("/api/v1/scorecard/").json()
    teams = {t["team"]: t for t in data["teams"]}
    assert set(teams) == {"fraud-x", "recs-x"}
    fraud = teams["fraud-x"]
    practices = {p["code"]: p for p in fraud["practices"]}
    assert (practices["MLS-01"]["score"], practices["MLS-02"]["score"], practices["MLS-14"]["score"]) == (65.0, 60.0, 0.0)
    assert practices["MLS-14"]["accepted"] is True and practices["MLS-01"]["accepted"] is False
    assert practices["MLS-14"]["coverage"] == 66.7  # the N/A answer counts as answered
    assert (fraud["score"], fraud["coverage"], fraud["verified"]) == (51.7, 66.7, 40.0)

    recs = teams["recs-x"]
    practices = {p["code"]: p for p in recs["practices"]}
    assert (practices["MLS-01"]["score"], practices["MLS-02"]["score"], practices["MLS-14"]["score"]) == (25.0, 25.0, None)
    assert practices["MLS-01"]["capped"] == 1 and practices["MLS-02"]["stale"] is True
    assert (recs["score"], recs["coverage"], recs["verified"]) == (25.0, 100.0, 0.0)

    org_practices = {p["code"]: p for p in data["practices"]}
    assert (org_practices["MLS-01"]["score"], org_practices["MLS-02"]["score"],
            org_practices["MLS-14"]["score"]) == (50.0, 46.9, 0.0)
    assert data["organisation"] == {"score": 40.1, "coverage": 75.0, "verified": 28.6}
    assert data["source"] == "live"
