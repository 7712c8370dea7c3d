"""The dashboard's heatmap is its own JSON response, fetched by the page (static/js/charts.js): the page
stays the same size whatever the number of teams (2.6 MB of inline JSON at 2,000 teams before), the
figure is remembered encoded, sent gzip-compressed, and a repeat visit gets a 304 (docs/performance.md)."""

import gzip

import orjson
import pytest
from django.test import Client
from django.urls import reverse

from accounts.choices import OrgRole, TeamRole
from accounts.models import Membership, Team
from accounts.tests.factories import TeamFactory, UserFactory
from assessments import services as assessment_services
from assessments.choices import AssessmentStatus
from assessments.tests.factories import ProjectFactory, make_assessment
from mlsec_portal.encoded import accepts_gzip
from scoring import charts
from scoring.services import scorecard_for

pytestmark = pytest.mark.django_db
URL = "/dashboard/heatmap.json"


@pytest.fixture
def world(db):
    officer = UserFactory(username="hm-officer", org_role=OrgRole.OFFICER)
    auditor = UserFactory(username="hm-auditor", org_role=OrgRole.AUDITOR)
    lead = UserFactory(username="hm-lead")
    team, other = TeamFactory(slug="hm-a", name="Heat <b>A</b> & co"), TeamFactory(slug="hm-b", name="Heat B")
    Membership.objects.create(user=lead, team=team, role=TeamRole.LEAD)
    project = ProjectFactory(team=team)
    ProjectFactory(team=other)
    assessment = make_assessment(project, cycle="2026-Q1", status=AssessmentStatus.SUBMITTED, levels=3)
    assessment_services.assessment_approve(actor=officer, assessment=assessment)
    return officer, auditor, lead, team, other, project


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_heatmap_is_the_figure_of_todays_scorecard(world):
    officer, _, _, team, other, _ = world
    response = signed_in(officer).get(URL)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    expected = charts.heatmap_figure(scorecard_for(list(Team.objects.order_by("name"))))
    assert response.json() == orjson.loads(orjson.dumps(expected))
    trace = response.json()["data"][0]
    # Plotly reads <, > and & in labels as its markup (links, styles): names are escaped to be drawn as text.
    assert trace["y"] == ["Heat &lt;b&gt;A&lt;/b&gt; &amp; co", "Heat B"]
    assert response.json()["layout"]["yaxis"]["type"] == "category"  # a team named "2024" stays a name
    assert response.json()["layout"]["meta"]["row_urls"] == [f"/teams/{team.slug}/", f"/teams/{other.slug}/"]
    assert trace["z"][0] == [75.0] * 25 and trace["z"][1] == [None] * 25


def test_the_page_holds_no_team_rows_and_points_at_the_heatmap(world):
    officer, *_ = world
    small = signed_in(officer).get("/dashboard/").content.decode()
    assert f'data-figure-src="{URL}"' in small and "heatmap-data" not in small
    TeamFactory.create_batch(60)
    large = signed_in(officer).get("/dashboard/").content.decode()
    assert abs(len(large) - len(small)) < 200  # the team count in the subtitle, not 60 rows
    assert len(signed_in(officer).get(URL).json()["data"][0]["y"]) == 62


def test_it_is_sent_compressed_and_revalidated_with_its_etag(world):
    officer, _, _, team, _, project = world
    client = signed_in(officer)
    plain = client.get(URL)
    packed = client.get(URL, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert packed["Content-Encoding"] == "gzip" and gzip.decompress(packed.content) == plain.content
    assert packed["ETag"] == plain["ETag"][:-1] + '-gzip"' and packed["Cache-Control"] == "private, no-cache"
    # If-None-Match compares weakly (RFC 9110 13.1.2): a proxy that weakened the tag still gets a 304.
    assert client.get(URL, HTTP_IF_NONE_MATCH=f'W/{packed["ETag"]}', HTTP_ACCEPT_ENCODING="gzip").status_code == 304
    assert "Accept-Encoding" in packed["Vary"]
    again = client.get(URL, HTTP_IF_NONE_MATCH=plain["ETag"])
    assert again.status_code == 304 and again.content == b""
    later = make_assessment(project, cycle="2026-Q2", status=AssessmentStatus.SUBMITTED, levels=4)
    assessment_services.assessment_approve(actor=officer, assessment=later)
    changed = client.get(URL, HTTP_IF_NONE_MATCH=plain["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != plain["ETag"]
    assert changed.json()["data"][0]["z"][0] == [100.0] * 25


def test_it_answers_only_get_and_head(world):
    officer, *_ = world
    client = signed_in(officer)
    assert client.head(URL).status_code == 200
    for method in (client.options, client.post, client.put, client.delete):
        response = method(URL)
        assert response.status_code in (403, 405) and b"Heat B" not in response.content, method


def test_only_those_who_see_the_organisation_get_it(world):
    officer, auditor, lead, *_ = world
    assert signed_in(auditor).get(URL).status_code == 200
    refused = signed_in(lead).get(URL, HTTP_IF_NONE_MATCH="*")
    assert refused.status_code == 403 and "ETag" not in refused and b"Heat B" not in refused.content
    anonymous = Client().get(URL, HTTP_IF_NONE_MATCH="*")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert "ETag" not in anonymous
    officers_etag = signed_in(officer).get(URL)["ETag"]
    assert signed_in(lead).get(URL, HTTP_IF_NONE_MATCH=officers_etag).status_code == 403


def test_signing_out_tells_the_browser_to_drop_what_it_kept(world):
    """The heatmap is revalidated, not refetched, so the browser keeps a copy (private, never a shared
    cache's): sign-out clears the browser's cache of the portal."""
    officer, *_ = world
    client = signed_in(officer)
    assert client.get(URL).status_code == 200
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Clear-Site-Data"] == '"cache"'
    assert client.get(URL).status_code == 302


@pytest.mark.parametrize(("header", "accepted"), [
    ("gzip", True), ("GZip", True), ("deflate, gzip;q=0.5", True), ("x-gzip", True), ("*", True),
    ("gzip;q=0", False), ("gzip;q=0.000", False), ("*;q=0", False), ("*;q=0, gzip", True), ("gzip;q=0, *", False),
    ("identity", False), ("br", False), ("", False), ("gzip;q=nonsense", False), ("notgzip, gzipped", False),
])
def test_accept_encoding_is_read_as_rfc_9110_says(header, accepted):
    assert accepts_gzip(header) is accepted
