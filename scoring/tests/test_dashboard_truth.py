"""The dashboard tells one story: today's trend point is the headline, empty history looks empty, and
figures that checks are still computing say so."""

import datetime as dt
import json
import re

from django.utils import timezone

from accounts.tests.factories import TeamFactory
from assessments import services as assessment_services
from assessments.choices import AssessmentStatus
from assessments.tests.factories import make_assessment
from checks.models import CheckRun
from scoring import charts
from scoring.services import snapshot_scores


def figure(content: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', content, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def kpi(content: str, name: str) -> str:
    return re.search(rf'data-kpi="{name}">(.*?)<', content).group(1)


def test_todays_trend_point_is_the_live_headline_not_the_morning_snapshot(web, org):
    make_assessment(org.project, cycle="2026-Q3", levels=1, status=AssessmentStatus.APPROVED)
    snapshot_scores()  # this morning: 25
    newer = make_assessment(org.project, cycle="2026-Q4", levels=3, status=AssessmentStatus.SUBMITTED)
    assessment_services.assessment_approve(actor=org.officer, assessment=newer)  # now: 75
    content = web(org.officer).get("/dashboard/").content.decode()
    assert kpi(content, "score") == "75"
    score_trace = figure(content, "trend-data")["data"][0]
    assert score_trace["x"][-1] == timezone.localdate().isoformat()
    assert score_trace["y"][-1] == 75.0
    assert score_trace["x"].count(timezone.localdate().isoformat()) == 1


def test_the_team_trend_ends_with_the_team_headline(web, org):
    make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    content = web(org.lead).get(f"/teams/{org.team.slug}/").content.decode()
    score_trace = figure(content, "trend-data")["data"][0]
    assert (score_trace["x"][-1], score_trace["y"][-1]) == (timezone.localdate().isoformat(), 50.0)


def test_an_empty_teams_trend_covers_the_last_90_days_not_the_year_2000(web, org):
    empty = TeamFactory(name="Brand new", slug="brand-new")
    content = web(org.officer).get(f"/teams/{empty.slug}/").content.decode()
    layout = figure(content, "trend-data")["layout"]
    today = timezone.localdate()
    assert layout["xaxis"]["range"] == [(today - dt.timedelta(days=89)).isoformat(), today.isoformat()]
    assert "No score history yet" in layout["annotations"][0]["text"]


def test_the_trend_figure_pins_its_window_even_without_points():
    window = (dt.date(2026, 9, 3), dt.date(2026, 12, 1))
    layout = charts.trend_figure([], window=window)["layout"]
    assert layout["xaxis"]["range"] == ["2026-09-03", "2026-12-01"]


def test_figures_still_being_computed_by_checks_are_marked(web, org):
    make_assessment(org.project, levels=3, status=AssessmentStatus.APPROVED)
    CheckRun.objects.create(project=org.project, definition_id="dependency-vulnerabilities", status="queued")
    CheckRun.objects.create(project=org.project, definition_id="source-secrets", status="running",
                            started_at=timezone.now())
    for user, url in ((org.officer, "/dashboard/"), (org.lead, f"/teams/{org.team.slug}/"), (org.lead, "/")):
        content = web(user).get(url).content.decode()
        assert 'data-computing="2"' in content, url
        assert "2 automated checks are queued or running" in content and "provisional" in content


def test_nothing_is_marked_provisional_once_the_checks_have_finished(web, org):
    make_assessment(org.project, levels=3, status=AssessmentStatus.APPROVED)
    CheckRun.objects.create(project=org.project, definition_id="source-secrets", status="passed",
                            finished_at=timezone.now())
    content = web(org.officer).get("/dashboard/").content.decode()
    assert "data-computing" not in content and "provisional" not in content


def test_a_lead_is_not_told_about_other_teams_running_checks(web, org):
    CheckRun.objects.create(project=org.other_project, definition_id="source-secrets", status="queued")
    assert "data-computing" not in web(org.lead).get("/").content.decode()
