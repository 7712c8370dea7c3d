"""Every chart the portal draws renders with the vendored partial plotly.js bundle (static/vendor/plotly.min.js):
heatmap and trend (dashboard), polar and trend (team page), bars and markers (project page)."""

import pytest

from accounts.tests.factories import PASSWORD
from assessments.choices import AssessmentStatus
from assessments.tests.factories import make_assessment
from scoring.services import snapshot_scores

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_every_chart_type_draws_with_the_partial_bundle(live_server, watched_page, org):
    make_assessment(org.project, levels=3, status=AssessmentStatus.APPROVED)
    snapshot_scores()
    page = watched_page.page
    sign_in(page, live_server.url, "officer", PASSWORD)
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#heatmap svg.main-svg")
    assert page.locator("#heatmap g.hm, #heatmap .heatmaplayer image").count() >= 1  # the heatmap trace itself
    assert page.evaluate("Object.keys(window.Plotly.PlotSchema.get().traces).sort()") == [
        "bar", "heatmap", "scatter", "scatterpolar"]  # exactly the traces scoring/charts.py uses
    page.goto(f"{live_server.url}/teams/{org.team.slug}/")
    page.wait_for_selector("#polar svg.main-svg")
    assert page.locator("#polar .polarlayer .trace.scatter").count() >= 1
    page.wait_for_selector("#trend .scatterlayer .trace")
    page.goto(f"{live_server.url}/projects/{org.project.pk}/")
    page.wait_for_selector("#levels svg.main-svg")
    assert page.locator("#levels .barlayer .trace.bars").count() == 1
    assert page.locator("#levels .scatterlayer .trace").count() == 1  # the target markers
    watched_page.assert_clean()
