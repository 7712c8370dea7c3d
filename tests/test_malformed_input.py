"""Bad input gets a clear 400 and changes nothing; no request may produce a 500."""

import pytest

from assessments.choices import AssessmentStatus
from assessments.models import Answer, Assessment, Project, RiskAcceptance
from assessments.tests.factories import make_assessment
from audit.models import AuditEvent


@pytest.fixture
def state(org):
    draft = make_assessment(org.project, cycle="2026-Q4", levels=2)
    submitted = make_assessment(org.project, cycle="2026-Q3", levels=2, status=AssessmentStatus.SUBMITTED)
    return {"org": org, "draft": draft, "submitted": submitted}


def fingerprint():
    """Everything a bad request could have changed."""
    return (
        AuditEvent.objects.count(), Project.objects.count(), Assessment.objects.count(), RiskAcceptance.objects.count(),
        tuple(Answer.objects.order_by("pk").values_list("level", "not_applicable", "justification", "notes", "owner")),
        tuple(Assessment.objects.order_by("pk").values_list("status", flat=True)),
        tuple(Project.objects.order_by("pk").values_list("name", "risk_tier", "check_targets")),
    )


BAD_REQUESTS = [
    # (actor, method, path, body)
    ("lead", "post", "/api/v1/projects/", {"team": "fraud", "name": "X", "slug": "x", "risk_tier": "extreme"}),
    ("lead", "post", "/api/v1/projects/", {"team": "no-such-team", "name": "X", "slug": "x"}),
    ("lead", "post", "/api/v1/projects/", {"team": ["fraud"], "name": {"a": 1}, "slug": 5}),
    ("lead", "post", "/api/v1/projects/", {"team": "fraud", "name": "Card fraud scorer 2", "slug": "card-fraud"}),
    ("lead", "post", "/api/v1/projects/", {"name": "no team"}),
    ("lead", "post", "/api/v1/projects/", ["not", "an", "object"]),
    ("lead", "post", "/api/v1/projects/", "just a string"),
    ("lead", "patch", "/api/v1/projects/{project}/", {"check_targets": "nope"}),
    ("lead", "patch", "/api/v1/projects/{project}/", {"lifecycle": 12}),
    ("lead", "patch", "/api/v1/projects/{project}/", {"check_opt_outs": {"no-such-check": "because reasons"}}),
    ("lead", "patch", "/api/v1/projects/{project}/", {"check_opt_outs": {"endpoint-authentication": "no"}}),
    ("lead", "post", "/api/v1/assessments/", {"project": "abc", "cycle": "2026-Q1"}),
    ("lead", "post", "/api/v1/assessments/", {"project": 999999, "cycle": "2026-Q1"}),
    ("lead", "post", "/api/v1/assessments/", {"project": "{project}", "cycle": "sometime"}),
    ("lead", "post", "/api/v1/assessments/", {"project": "{project}", "cycle": "2026-Q4"}),
    ("lead", "post", "/api/v1/assessments/", {"project": "{project}"}),
    ("lead", "patch", "/api/v1/assessments/{draft}/answers/MLS-01/", {"level": "high"}),
    ("lead", "patch", "/api/v1/assessments/{draft}/answers/MLS-01/", {"level": 7}),
    ("lead", "patch", "/api/v1/assessments/{draft}/answers/MLS-01/", {"level": 2.5}),
    ("lead", "patch", "/api/v1/assessments/{draft}/answers/MLS-01/", {"not_applicable": True}),
    ("lead", "patch", "/api/v1/assessments/{draft}/answers/MLS-01/", {"not_applicable": True, "justification": "Out of scope here.", "level": 2}),
    ("lead", "patch", "/api/v1/assessments/{draft}/answers/MLS-01/", {"due_date": "next tuesday"}),
    ("lead", "patch", "/api/v1/assessments/{draft}/answers/MLS-01/", {"target_level": -1}),
    ("lead", "patch", "/api/v1/assessments/{draft}/answers/MLS-01/", {"owner": "x" * 500}),
    ("lead", "patch", "/api/v1/assessments/{draft}/answers/MLS-01/", [1, 2, 3]),
    ("lead", "patch", "/api/v1/assessments/{submitted}/answers/MLS-01/", {"level": 4}),
    ("officer", "post", "/api/v1/assessments/{submitted}/return/", {}),
    ("officer", "post", "/api/v1/assessments/{submitted}/return/", {"comment": "   "}),
    ("officer", "post", "/api/v1/assessments/{submitted}/return/", {"comment": ["a", "b"]}),
    ("officer", "post", "/api/v1/assessments/{draft}/approve/", {}),
    ("lead", "post", "/api/v1/assessments/{submitted}/submit/", {}),
    ("lead", "post", "/api/v1/risk-acceptances/", {"project": "{project}", "practice": "MLS-99", "justification": "x" * 30, "expires_on": "2099-01-01"}),
    ("lead", "post", "/api/v1/risk-acceptances/", {"project": "{project}", "practice": "MLS-03", "justification": "short", "expires_on": "2030-01-01"}),
    ("lead", "post", "/api/v1/risk-acceptances/", {"project": "{project}", "practice": "MLS-03", "justification": "x" * 30, "expires_on": "2001-01-01"}),
    ("lead", "post", "/api/v1/risk-acceptances/", {"project": "{project}", "practice": "MLS-03", "justification": "x" * 30, "expires_on": "not a date"}),
    ("lead", "post", "/api/v1/risk-acceptances/", {"project": "{project}", "practice": "MLS-03", "justification": "x" * 30, "expires_on": "2026-12-31", "status": "approved"}),
    ("admin", "post", "/api/v1/users/", {"username": "weak", "password": "123"}),
    ("admin", "post", "/api/v1/users/", {"username": "bad role", "org_role": "emperor"}),
    ("admin", "post", "/api/v1/teams/", {"slug": "Not A Slug", "name": "X"}),
    ("admin", "post", "/api/v1/teams/", {"slug": "fraud", "name": "Duplicate"}),
    ("admin", "post", "/api/v1/teams/fraud/members/", {"user": "lead", "role": "boss"}),
    ("admin", "post", "/api/v1/teams/fraud/members/", {"user": 999999, "role": "member"}),
    ("admin", "delete", "/api/v1/teams/fraud/members/", {"user": "nobody"}),
    ("admin", "post", "/api/v1/practices/", {"title": "T", "category": "C", "description": "D", "levels": [{"level": 0}]}),
    ("admin", "post", "/api/v1/practices/", {"title": "T", "category": "C", "description": "D", "levels": "none"}),
]


def _fill(value, state):
    names = {"project": state["org"].project.pk, "draft": state["draft"].pk, "submitted": state["submitted"].pk}
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in names:
            return names[value[1:-1]]
        return value.format(**names) if "{" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, state) for k, v in value.items()}
    return value


@pytest.mark.parametrize("actor,method,path,body", BAD_REQUESTS)
def test_bad_input_is_a_400_that_changes_nothing(state, api, actor, method, path, body):
    client = api(getattr(state["org"], actor))
    before = fingerprint()
    response = getattr(client, method)(_fill(path, state), _fill(body, state), format="json")
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert isinstance(response.json(), dict) and response.json()
    assert fingerprint() == before


@pytest.mark.parametrize("path", [
    "/api/v1/projects/?page=abc", "/api/v1/projects/?page=0", "/api/v1/projects/?page_size=-3",
    "/api/v1/assessments/?status=bogus", "/api/v1/assessments/?project=abc", "/api/v1/projects/?risk_tier=huge",
    "/api/v1/risk-acceptances/?project=1.5",
])
def test_bad_query_parameters_are_a_400(state, api, path):
    assert api(state["org"].officer).get(path).status_code == 400


def test_malformed_json_is_a_400(state, api):
    client = api(state["org"].lead)
    response = client.generic("POST", "/api/v1/projects/", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_unknown_practice_code_in_answer_path_is_a_404(state, api):
    response = api(state["org"].lead).patch(f"/api/v1/assessments/{state['draft'].pk}/answers/MLS-77/", {"level": 1}, format="json")
    assert response.status_code == 404
