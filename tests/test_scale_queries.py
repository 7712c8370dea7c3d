"""The dashboard and the scorecard API cost the same queries (at most 15) for 20 and for 2,000 projects."""

import datetime as dt
from types import SimpleNamespace

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Team
from assessments.choices import AssessmentStatus, RiskTier
from assessments.models import Answer, Assessment, Project
from checks.models import CheckRun
from controls.models import Practice
from scoring.services import snapshot_scores

TIERS = list(RiskTier.values)


def grow(teams: int, projects_per_team: int, start: int = 0) -> None:
    """Bulk-create teams, projects with approved assessments (25 answers each) and a failing check each."""
    practices = list(Practice.objects.active())
    reviewed = timezone.now() - dt.timedelta(days=1)
    new_teams = Team.objects.bulk_create(
        [Team(slug=f"scale-{start + i}", name=f"Scale team {start + i}") for i in range(teams)])
    projects = Project.objects.bulk_create([
        Project(team=team, name=f"Model {team.slug}-{j}", slug=f"m-{j}", risk_tier=TIERS[j % 4],
                created_at=reviewed)
        for team in new_teams for j in range(projects_per_team)
    ])
    assessments = Assessment.objects.bulk_create([
        Assessment(project=p, cycle="2026-Q4", status=AssessmentStatus.APPROVED, catalog_version="test",
                   reviewed_at=reviewed, submitted_at=reviewed)
        for p in projects
    ])
    Answer.objects.bulk_create([
        Answer(assessment=a, practice=p, level=(a.pk + p.number) % 5) for a in assessments for p in practices
    ], batch_size=5000)
    CheckRun.objects.bulk_create([
        CheckRun(project=p, definition_id="model-serialization", status="failed", finished_at=reviewed)
        for p in projects[::3]
    ])


def queries(client, url) -> int:
    client.get(url)  # warm per-process caches (the catalogue version)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_scorecard_and_dashboard_cost_the_same_queries_for_20_and_2000_projects(org, client, monkeypatch):
    # The catalogue version is cached for a minute: on a loaded machine a 2,000-project request can
    # outlast that between the warm-up and the measured request, which would count one query more.
    monkeypatch.setattr("controls.models.time", SimpleNamespace(monotonic=lambda: 0.0))
    client.force_login(org.officer)
    grow(teams=2, projects_per_team=9)  # 18 + the fixture's 2 = 20 projects
    snapshot_scores()
    small = {url: queries(client, url) for url in ("/api/v1/scorecard/", "/dashboard/", "/dashboard/heatmap.json")}
    grow(teams=198, projects_per_team=10, start=2)  # 1,980 more: 2,000 projects, 50,000 answers
    snapshot_scores()
    assert Project.objects.count() == 2000 and Answer.objects.count() == 1998 * 25
    large = {url: queries(client, url) for url in ("/api/v1/scorecard/", "/dashboard/", "/dashboard/heatmap.json")}
    assert large == small, (small, large)
    # The dashboard reads the scorecard rollup, so its reads and the nav's unread-notifications badge fit in 15.
    assert max(large.values()) <= 15, large
