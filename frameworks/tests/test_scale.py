"""The framework views cost the same queries for 20 and for 2,000 projects (timings: `make bench`)."""

from types import SimpleNamespace

from assessments.models import Project
from scoring.services import snapshot_scores
from tests.test_scale_queries import grow, queries

URLS = ["/api/v1/frameworks/nist-ai-rmf/readiness/", "/api/v1/frameworks/eu-ai-act/readiness/",
        "/api/v1/frameworks/iso-42001/readiness/?team=scale-1", "/frameworks/", "/frameworks/nist-ai-rmf/",
        "/frameworks/eu-ai-act/", "/frameworks/crosswalk/"]
CLASSES = [("provider", "high-risk"), ("deployer", "minimal-risk"), ("provider", "limited-risk"), ("", "")]


def classify_all() -> None:
    for n, (role, risk_class) in enumerate(CLASSES):
        ids = [pk for pk in Project.objects.values_list("pk", flat=True) if pk % len(CLASSES) == n]
        Project.objects.filter(pk__in=ids).update(ai_act_role=role, ai_act_risk_class=risk_class)


def test_framework_views_cost_the_same_queries_for_20_and_2000_projects(org, client, monkeypatch):
    monkeypatch.setattr("controls.models.time", SimpleNamespace(monotonic=lambda: 0.0))  # see tests/test_scale_queries.py
    client.force_login(org.officer)
    grow(teams=2, projects_per_team=9)  # 18 + the fixture's 2 = 20 projects
    classify_all()
    snapshot_scores()
    small = {url: queries(client, url) for url in URLS}
    grow(teams=198, projects_per_team=10, start=2)  # 2,000 projects, 50,000 answers
    classify_all()
    snapshot_scores()
    assert Project.objects.count() == 2000
    large = {url: queries(client, url) for url in URLS}
    assert large == small, (small, large)
    assert max(large.values()) <= 15, large
