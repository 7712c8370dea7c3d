"""Today's scorecard is sent as it was remembered: gzip-compressed for a client that asks for it (every
HTTP client does), with a strong ETag, so a client that already holds the document gets a 304.

At 2,000 teams the JSON is 5.5 MB; compressed once per change it is a few hundred KB, and a request no
longer copies or sends 5.5 MB (docs/performance.md)."""

import gzip

import orjson
import pytest
from rest_framework.test import APIClient

from accounts.choices import OrgRole, TeamRole
from accounts.models import Membership
from accounts.tests.factories import TeamFactory, UserFactory
from assessments import services as assessment_services
from assessments.choices import AssessmentStatus
from assessments.tests.factories import ProjectFactory, make_assessment

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    officer = UserFactory(username="enc-officer", org_role=OrgRole.OFFICER)
    lead = UserFactory(username="enc-lead")
    team, other = TeamFactory(slug="enc-a", name="Enc A"), TeamFactory(slug="enc-b", name="Enc B")
    Membership.objects.create(user=lead, team=team, role=TeamRole.LEAD)
    project = ProjectFactory(team=team)
    ProjectFactory(team=other)
    return officer, lead, team, project


def client_for(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def approve(officer, project, level, cycle):
    assessment = make_assessment(project, cycle=cycle, status=AssessmentStatus.SUBMITTED, levels=level)
    assessment_services.assessment_approve(actor=officer, assessment=assessment)


def test_the_compressed_document_is_the_plain_one_and_says_so(world):
    officer, _, team, project = world
    approve(officer, project, 3, "2026-Q1")
    plain = client_for(officer).get("/api/v1/scorecard/")
    packed = client_for(officer).get("/api/v1/scorecard/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain and packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    body = orjson.loads(plain.content)
    assert {t["team"] for t in body["teams"]} == {team.slug, "enc-b"}
    for response in (plain, packed):
        assert response["Content-Type"] == "application/json"
        assert "Accept-Encoding" in response["Vary"]
        assert response["Cache-Control"] == "private, no-cache"  # scoped data: never a shared cache's
    # Two representations, two strong tags (RFC 9110 8.8.3); either one held gets a 304.
    assert packed["ETag"] == plain["ETag"][:-1] + '-gzip"'
    client = client_for(officer)
    for held, encoding in ((packed["ETag"], ""), (plain["ETag"], "gzip"), (f'W/{packed["ETag"]}', "gzip")):
        assert client.get("/api/v1/scorecard/", HTTP_IF_NONE_MATCH=held, HTTP_ACCEPT_ENCODING=encoding).status_code == 304


def test_a_client_holding_the_document_gets_304_until_it_changes(world):
    officer, _, team, project = world
    approve(officer, project, 2, "2026-Q1")
    client = client_for(officer)
    first = client.get("/api/v1/scorecard/")
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = client.get("/api/v1/scorecard/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert client.get("/api/v1/scorecard/", HTTP_IF_NONE_MATCH=f'"other", {etag}').status_code == 304
    assert client.get("/api/v1/scorecard/", HTTP_IF_NONE_MATCH='"other"').status_code == 200
    approve(officer, project, 4, "2026-Q2")
    changed = client.get("/api/v1/scorecard/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert {t["team"]: t["score"] for t in changed.json()["teams"]}[team.slug] == 100.0


def test_another_scope_never_matches_a_documents_etag(world):
    """A lead sends the officers' ETag: the lead's own document is a different one, so a 200 with it."""
    officer, lead, team, project = world
    approve(officer, project, 2, "2026-Q1")
    officers = client_for(officer).get("/api/v1/scorecard/")
    leads = client_for(lead).get("/api/v1/scorecard/", HTTP_IF_NONE_MATCH=officers["ETag"])
    assert leads.status_code == 200 and leads["ETag"] != officers["ETag"]
    assert [t["team"] for t in leads.json()["teams"]] == [team.slug]
    one_team = client_for(officer).get("/api/v1/scorecard/", {"team": team.slug}, HTTP_ACCEPT_ENCODING="gzip")
    assert [t["team"] for t in orjson.loads(gzip.decompress(one_team.content))["teams"]] == [team.slug]


def test_a_past_day_is_not_affected(world):
    officer, _, _, project = world
    approve(officer, project, 2, "2026-Q1")
    response = client_for(officer).get("/api/v1/scorecard/", {"as_of": "2020-01-01"}, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and "Content-Encoding" not in response
    assert response.json()["as_of"] == "2020-01-01"


def test_no_one_signed_out_gets_the_document_or_its_etag(world):
    response = APIClient().get("/api/v1/scorecard/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH="*")
    assert response.status_code in (401, 403) and "ETag" not in response
