"""The Frameworks API (docs/frameworks.md, "Readiness"): the list, readiness per scope, each role, bad input, the schema."""

import pytest

from accounts.choices import OrgRole
from accounts.tests.factories import UserFactory
from assessments.choices import AssessmentStatus
from assessments.tests.factories import ProjectFactory, make_assessment
from audit.models import AuditEvent
from frameworks.api.serializers import ReadinessSerializer

URL = "/api/v1/frameworks/{}/readiness/"
KEYS = ["nist-ai-rmf", "iso-42001", "iso-27001", "eu-ai-act", "owasp-ml", "owasp-llm", "mitre-atlas"]


@pytest.fixture
def assessed(org):
    """Both teams' projects approved: the fraud team at level 1, the recommendations team at level 4."""
    make_assessment(org.project, levels=1, status=AssessmentStatus.APPROVED)
    make_assessment(org.other_project, levels=4, status=AssessmentStatus.APPROVED)
    return org


def get(api, user, key="nist-ai-rmf", **params):
    return api(user).get(URL.format(key), params)


def test_the_framework_list_names_the_seven_frameworks_for_every_signed_in_user(org, api):
    for user in (org.nobody, org.member, org.officer):
        response = api(user).get("/api/v1/frameworks/")
        assert response.status_code == 200
        rows = response.json()["results"]
        assert [r["key"] for r in rows] == KEYS
        counts = {r["key"]: r["requirements"] for r in rows}
        assert counts["iso-27001"] == 97 and counts["owasp-ml"] == 10 and counts["nist-ai-rmf"] == 95
        assert {r["key"]: r["version"] for r in rows}["iso-42001"] == "2023"


def test_anonymous_callers_get_401(org, api):
    assert api().get("/api/v1/frameworks/").status_code == 401
    assert api().get(URL.format("nist-ai-rmf")).status_code == 401


@pytest.mark.parametrize("role", ["admin", "officer", "auditor"])
def test_organisation_roles_see_every_team(assessed, api, role):
    data = get(api, assessed.users()[role]).json()
    assert data["scope"]["kind"] == "organisation" and data["projects"] == 2
    govern = next(r for r in data["requirements"] if r["ref"] == "GOVERN 1.1")
    assert govern["readiness"] == 62.5  # (25 + 100) / 2 at equal tiers: both teams count


@pytest.mark.parametrize("role", ["lead", "member"])
def test_team_people_see_only_their_own_teams_projects(assessed, api, role):
    user = assessed.users()[role]
    data = get(api, user).json()
    assert data["scope"]["kind"] == "teams" and data["projects"] == 1
    rows = {r["ref"]: r for r in data["requirements"]}
    assert rows["GOVERN 1.1"]["readiness"] == 25.0  # only the fraud team's level 1
    names = {w["name"] for r in data["requirements"] for w in r["weakest_projects"]}
    assert names == {"Card fraud scorer"}  # never the other team's project
    assert get(api, user, team="fraud").status_code == 200
    assert get(api, user, project=assessed.project.pk).status_code == 200


@pytest.mark.parametrize("role", ["lead", "member", "other_lead"])
def test_another_teams_scope_answers_404_as_if_it_did_not_exist(assessed, api, role):
    user = assessed.users()[role]
    other_team, other_project = ("recs", assessed.other_project) if role != "other_lead" else ("fraud", assessed.project)
    assert get(api, user, team=other_team).status_code == 404
    assert get(api, user, project=other_project.pk).status_code == 404
    assert get(api, user, team="no-such-team").status_code == 404
    assert get(api, user, project=999999).status_code == 404


@pytest.mark.parametrize("key", KEYS)
def test_a_person_in_no_team_sees_no_project(assessed, api, key):
    data = get(api, assessed.nobody, key).json()
    assert data["projects"] == 0 and data["readiness"] is None
    assert all(r["readiness"] is None and not r["weakest_projects"] for r in data["requirements"])


def test_a_lead_and_an_officer_filtering_on_the_team_get_the_same_numbers(assessed, api):
    lead = get(api, assessed.lead, "iso-42001").json()
    officer = get(api, assessed.officer, "iso-42001", team="fraud").json()
    assert lead["requirements"] == officer["requirements"]
    assert (lead["readiness"], lead["coverage"], lead["verified"]) == (
        officer["readiness"], officer["coverage"], officer["verified"])


@pytest.mark.parametrize("params, field", [
    ({"as_of": "yesterday"}, "as_of"), ({"as_of": "2999-01-01"}, "as_of"), ({"as_of": "2026-02-30"}, "as_of"),
    ({"project": "abc"}, "project"), ({"project": "-1"}, "project"), ({"project": "²"}, "project"),
    ({"project": "9" * 40}, "project"),
])
def test_bad_parameters_are_a_400_naming_the_field(assessed, api, params, field):
    response = get(api, assessed.officer, **params)
    assert response.status_code == 400 and field in response.json()


def test_a_project_outside_the_chosen_team_is_a_400(assessed, api):
    response = get(api, assessed.officer, team="recs", project=assessed.project.pk)
    assert response.status_code == 400 and "project" in response.json()


def test_an_unknown_framework_is_a_404(assessed, api):
    assert get(api, assessed.officer, "iso-9001").status_code == 404
    assert api(assessed.officer).get("/api/v1/frameworks/iso-9001/").status_code == 404


@pytest.mark.parametrize("key", KEYS)
def test_the_readiness_document_is_the_documented_schema(assessed, api, key):
    data = get(api, assessed.officer, key).json()
    serializer = ReadinessSerializer(data=data)
    assert serializer.is_valid(), serializer.errors
    assert set(data) == set(ReadinessSerializer().fields)
    documented = set(ReadinessSerializer().fields["requirements"].child.fields)
    assert all(set(r) == documented for r in data["requirements"])
    assert {"ref", "title", "parent", "readiness", "coverage", "verified", "practices", "covered_by_catalogue"} <= documented


def test_the_openapi_schema_describes_the_frameworks_endpoints(org, api):
    schema = api(org.officer).get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/frameworks/{key}/readiness/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"key", "team", "project", "as_of"}
    assert "/api/v1/frameworks/" in schema["paths"]
    project = schema["components"]["schemas"]["Project"]["properties"]
    assert {"ai_act_role", "ai_act_risk_class"} <= set(project)


def test_projects_carry_their_ai_act_classification_through_the_api(org, api):
    url = f"/api/v1/projects/{org.project.pk}/"
    assert api(org.lead).get(url).json()["ai_act_role"] == ""
    response = api(org.lead).patch(url, {"ai_act_role": "provider", "ai_act_risk_class": "high-risk"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["ai_act_role"], response.json()["ai_act_risk_class"]) == ("provider", "high-risk")
    event = AuditEvent.objects.filter(action="project.update", object_id=str(org.project.pk)).latest("seq")
    assert event.changes["after"] == {"ai_act_role": "provider", "ai_act_risk_class": "high-risk"}


@pytest.mark.parametrize("body, field", [
    ({"ai_act_role": "regulator", "ai_act_risk_class": "high-risk"}, "ai_act_role"),
    ({"ai_act_role": "provider", "ai_act_risk_class": "dangerous"}, "ai_act_risk_class"),
    ({"ai_act_role": "provider"}, "ai_act_risk_class"),
    ({"ai_act_risk_class": "high-risk"}, "ai_act_role"),
])
def test_an_invalid_or_half_classification_is_refused_and_changes_nothing(org, api, body, field):
    response = api(org.lead).patch(f"/api/v1/projects/{org.project.pk}/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    org.project.refresh_from_db()
    assert (org.project.ai_act_role, org.project.ai_act_risk_class) == ("", "")


def test_only_the_projects_editors_may_classify_it(org, api):
    body = {"ai_act_role": "deployer", "ai_act_risk_class": "minimal-risk"}
    assert api(org.member).patch(f"/api/v1/projects/{org.project.pk}/", body, format="json").status_code == 403
    assert api(org.other_lead).patch(f"/api/v1/projects/{org.project.pk}/", body, format="json").status_code == 404
    assert api(org.auditor).patch(f"/api/v1/projects/{org.project.pk}/", body, format="json").status_code == 403
    officer = UserFactory(username="officer-2", org_role=OrgRole.OFFICER)
    assert api(officer).patch(f"/api/v1/projects/{org.project.pk}/", body, format="json").status_code == 200


def test_archived_projects_leave_the_readiness_of_their_team(org, api):
    make_assessment(org.project, levels=1, status=AssessmentStatus.APPROVED)
    gone = ProjectFactory(team=org.team, name="Old model")
    make_assessment(gone, levels=4, status=AssessmentStatus.APPROVED)
    before = get(api, org.officer, team="fraud").json()
    assert before["projects"] == 2
    api(org.officer).delete(f"/api/v1/projects/{gone.pk}/")
    after = get(api, org.officer, team="fraud").json()
    assert after["projects"] == 1
    assert {r["ref"]: r["readiness"] for r in after["requirements"]}["GOVERN 1.1"] == 25.0
