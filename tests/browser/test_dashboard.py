"""Officers see the heatmap and the trend drawn by plotly.js served locally; a lead sees no other team."""

import pytest
from django.contrib.sessions.models import Session

from accounts.tests.factories import PASSWORD, TeamFactory
from assessments.choices import AssessmentStatus
from assessments.tests.factories import make_assessment
from scoring.services import snapshot_scores

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scored(org):
    make_assessment(org.project, levels=3, status=AssessmentStatus.APPROVED)
    make_assessment(org.other_project, levels=1, status=AssessmentStatus.APPROVED)
    snapshot_scores()
    return org


def test_an_officer_sees_the_heatmap_and_the_trend_drawn(live_server, watched_page, scored):
    page = watched_page.page
    sign_in(page, live_server.url, "officer", PASSWORD)
    assert page.url.rstrip("/").endswith("/dashboard")  # officers land on the dashboard
    page.wait_for_selector("#heatmap svg.main-svg")
    page.wait_for_selector("#trend svg.main-svg")
    # plotly drew one heatmap trace with both teams, and the trend's lines
    assert page.locator("#heatmap .heatmaplayer, #heatmap g.hm").count() >= 1
    labels = page.locator("#heatmap .ytick text").all_text_contents()
    assert "Fraud detection" in labels and "Recommendations" in labels
    assert page.locator("#trend .scatterlayer .trace").count() == 2
    assert page.locator("[data-kpi=score]").inner_text().startswith("50")
    watched_page.assert_clean()


def test_clicking_a_heatmap_cell_opens_the_team(live_server, watched_page, scored):
    page = watched_page.page
    sign_in(page, live_server.url, "officer", PASSWORD)
    page.wait_for_selector("#heatmap svg.main-svg")
    box = page.locator("#heatmap .nsewdrag").first.bounding_box()
    # the first row is Fraud detection (rows read top to bottom): click inside its first cell
    page.mouse.click(box["x"] + 5, box["y"] + 5)
    page.wait_for_url("**/teams/fraud/")
    watched_page.assert_clean()


def test_team_names_are_drawn_as_text_not_as_markup(live_server, watched_page, scored):
    """Plotly reads <a href>, <span style> and the like in labels as its own markup: a name with them is
    escaped (scoring/charts.py), so it shows as typed and links nowhere; a number-like name stays a name."""
    scored.other_team.name = '<a href="https://example.invalid/">Recs</a>'
    scored.other_team.save()
    TeamFactory(name="2024", slug="y2024")
    page = watched_page.page
    sign_in(page, live_server.url, "officer", PASSWORD)
    page.wait_for_selector("#heatmap svg.main-svg")
    labels = page.locator("#heatmap .ytick text").all_text_contents()
    assert '<a href="https://example.invalid/">Recs</a>' in labels and "2024" in labels and "Fraud detection" in labels
    assert page.locator("#heatmap svg a").count() == 0  # no link was made of a name
    watched_page.assert_clean()


def test_a_heatmap_that_cannot_be_fetched_says_so(live_server, watched_page, scored):
    """The page fetches its heatmap (/dashboard/heatmap.json). When the session is gone by then, the portal
    redirects that request to sign-in, which the fetch refuses: a note takes the chart's place, not a blank
    box or a sign-in form drawn as data."""
    page = watched_page.page
    sign_in(page, live_server.url, "officer", PASSWORD)
    page.wait_for_selector("#heatmap svg.main-svg")

    def session_ended_meanwhile(route):  # signed out elsewhere between the page and its heatmap
        Session.objects.all().delete()
        route.continue_()

    page.route("**/dashboard/heatmap.json", session_ended_meanwhile)
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#heatmap .chart-failed")
    assert "could not be loaded" in page.locator("#heatmap").inner_text()
    assert page.locator("#heatmap svg.main-svg").count() == 0
    page.wait_for_selector("#trend svg.main-svg")  # the rest of the page is drawn
    assert all("heatmap.json" in e or "Failed to load resource" in e for e in watched_page.console_errors)


def test_a_lead_sees_no_other_team(live_server, watched_page, scored):
    page = watched_page.page
    sign_in(page, live_server.url, "lead", PASSWORD)
    content = page.content()
    assert "Fraud detection" in content and "Recommendations" not in content and "Home feed ranker" not in content
    page.goto(f"{live_server.url}/dashboard/")
    assert "/dashboard" not in page.url  # the organisation dashboard is not for team people
    response = page.goto(f"{live_server.url}/teams/recs/")
    assert response.status == 404
    page.goto(f"{live_server.url}/teams/fraud/")
    page.wait_for_selector("#polar svg.main-svg")
    assert "Recommendations" not in page.content()
    console_404 = [e for e in watched_page.console_errors if "404" in e]
    watched_page.console_errors[:] = [e for e in watched_page.console_errors if e not in console_404]
    watched_page.assert_clean()


def test_an_empty_teams_trend_never_shows_the_year_2000(live_server, watched_page, scored):
    from accounts.tests.factories import TeamFactory

    TeamFactory(name="Brand new", slug="brand-new")
    page = watched_page.page
    sign_in(page, live_server.url, "officer", PASSWORD)
    page.goto(f"{live_server.url}/teams/brand-new/")
    page.wait_for_selector("#trend svg.main-svg")
    ticks = " ".join(page.locator("#trend .xtick text").all_text_contents())
    assert ticks and "2000" not in ticks and "2001" not in ticks, ticks
    assert "No score history yet" in page.locator("#trend").inner_text()
    watched_page.assert_clean()
