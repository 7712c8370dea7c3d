"""Every role against every endpoint and action: allowed, 404 outside scope, 403 in scope but not allowed, 401 anonymous.

Roles: administrator, security officer, auditor, the team's lead and member, a lead of ANOTHER team
(`other_lead`, to whom the team's objects do not exist), and an anonymous client.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from assessments.choices import AcceptanceStatus, AssessmentStatus
from assessments.models import RiskAcceptance
from assessments.tests.factories import make_assessment
from checks.models import CheckRun
from controls.models import Practice

ROLES = ["admin", "officer", "auditor", "lead", "member", "other_lead", "anon"]


@dataclass
class World:
    org: object
    draft: object
    submitted: object
    acceptance: object
    extra: dict = field(default_factory=dict)


@pytest.fixture
def world(org, team_dir):
    files = team_dir(org.team)
    model = files / "model.safetensors"
    model.write_bytes(b"weights")
    org.project.check_targets = {"model_artifacts": [str(model)], "source_path": str(files)}
    org.project.save()
    run = CheckRun.objects.create(project=org.project, definition_id="source-secrets", status="passed",
                                  finished_at=timezone.now(), summary="no secrets")
    draft = make_assessment(org.project, cycle="2026-Q4", levels=2)
    submitted = make_assessment(org.project, cycle="2026-Q3", levels=3, status=AssessmentStatus.SUBMITTED)
    acceptance = RiskAcceptance.objects.create(
        project=org.project, practice=Practice.objects.get(code="MLS-14"), proposed_by=org.lead,
        justification="Federated learning is out of scope until the data platform exists.",
        expires_on=timezone.localdate() + dt.timedelta(days=90), status=AcceptanceStatus.PROPOSED,
    )
    return World(org=org, draft=draft, submitted=submitted, acceptance=acceptance, extra={"run": run})


def future(days=60):
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def _expect(allowed, *, forbidden=(), hidden=("other_lead",), ok=200, out_of_scope=404):
    """Build the expected status per role: `allowed` roles get `ok`, `forbidden` 403, `hidden` 404."""
    table = {"anon": 401}
    for role in ROLES[:-1]:
        if role in allowed:
            table[role] = ok
        elif role in hidden:
            table[role] = out_of_scope
        else:
            table[role] = 403
    for role in forbidden:
        table[role] = 403
    return table


EVERYONE = ("admin", "officer", "auditor", "lead", "member", "other_lead")
IN_SCOPE = ("admin", "officer", "auditor", "lead", "member")

CASES = [
    # name, method, path(world), body(world), expected
    ("users list", "get", lambda w: "/api/v1/users/", None, _expect(("admin",), hidden=())),
    ("users create", "post", lambda w: "/api/v1/users/",
     lambda w: {"username": "newcomer", "email": "n@example.org", "password": "a-long-passphrase-42", "org_role": "none"},  # pragma: allowlist secret
     _expect(("admin",), hidden=(), ok=201)),
    ("users update", "patch", lambda w: f"/api/v1/users/{w.org.member.pk}/", lambda w: {"email": "m2@example.org"},
     _expect(("admin",), hidden=())),
    ("practices list", "get", lambda w: "/api/v1/practices/", None, _expect(EVERYONE)),
    ("practice detail", "get", lambda w: "/api/v1/practices/MLS-01/", None, _expect(EVERYONE)),
    ("practice create", "post", lambda w: "/api/v1/practices/",
     lambda w: {"title": "Model cards published", "category": "Governance and people", "description": "Each model ships a model card.",
                "weight": 1, "levels": [{"level": i, "summary": f"level {i}"} for i in range(5)]},
     _expect(("admin",), hidden=(), ok=201)),
    ("teams list", "get", lambda w: "/api/v1/teams/", None, _expect(EVERYONE)),
    ("team create", "post", lambda w: "/api/v1/teams/", lambda w: {"slug": "vision", "name": "Vision"},
     _expect(("admin", "officer"), hidden=(), ok=201)),
    ("team detail", "get", lambda w: "/api/v1/teams/fraud/", None, _expect(IN_SCOPE)),
    ("team update", "patch", lambda w: "/api/v1/teams/fraud/", lambda w: {"description": "Card and account fraud."},
     _expect(("admin", "officer"))),
    ("members list", "get", lambda w: "/api/v1/teams/fraud/members/", None, _expect(IN_SCOPE)),
    ("member add", "post", lambda w: "/api/v1/teams/fraud/members/", lambda w: {"user": w.org.nobody.pk, "role": "member"},
     _expect(("admin", "officer"), ok=201)),
    ("member remove", "delete", lambda w: f"/api/v1/teams/fraud/members/{w.org.member.pk}/", None,
     _expect(("admin", "officer"), ok=204)),
    ("projects list", "get", lambda w: "/api/v1/projects/", None, _expect(EVERYONE)),
    ("project create", "post", lambda w: "/api/v1/projects/",
     lambda w: {"team": "fraud", "name": "Chargeback predictor", "slug": "chargebacks", "risk_tier": "high"},
     # another team's lead cannot even name the team: 400 "does not exist", exactly as for a team that doesn't
     _expect(("admin", "officer", "lead"), ok=201, out_of_scope=400)),
    ("project detail", "get", lambda w: f"/api/v1/projects/{w.org.project.pk}/", None, _expect(IN_SCOPE)),
    ("project update", "patch", lambda w: f"/api/v1/projects/{w.org.project.pk}/", lambda w: {"risk_tier": "critical"},
     _expect(("admin", "officer", "lead"))),
    ("project archive", "delete", lambda w: f"/api/v1/projects/{w.org.project.pk}/", None,
     _expect(("admin", "officer"), ok=204)),
    ("assessments list", "get", lambda w: "/api/v1/assessments/", None, _expect(EVERYONE)),
    ("assessment create", "post", lambda w: "/api/v1/assessments/", lambda w: {"project": w.org.project.pk, "cycle": "2027-Q1"},
     _expect(("lead", "member"), ok=201, out_of_scope=400)),
    ("assessment detail", "get", lambda w: f"/api/v1/assessments/{w.draft.pk}/", None, _expect(IN_SCOPE)),
    ("answer read", "get", lambda w: f"/api/v1/assessments/{w.draft.pk}/answers/MLS-03/", None, _expect(IN_SCOPE)),
    ("answer patch", "patch", lambda w: f"/api/v1/assessments/{w.draft.pk}/answers/MLS-03/", lambda w: {"level": 3},
     _expect(("lead", "member"))),
    ("answer put", "put", lambda w: f"/api/v1/assessments/{w.draft.pk}/answers/MLS-03/",
     lambda w: {"level": 1, "notes": "Dependabot on two of three repositories.", "owner": "member", "target_level": 3,
                "due_date": future()},
     _expect(("lead", "member"))),
    ("submit", "post", lambda w: f"/api/v1/assessments/{w.draft.pk}/submit/", None, _expect(("lead",))),
    ("approve", "post", lambda w: f"/api/v1/assessments/{w.submitted.pk}/approve/", lambda w: {"comment": "Good."},
     _expect(("officer",))),
    ("return", "post", lambda w: f"/api/v1/assessments/{w.submitted.pk}/return/",
     lambda w: {"comment": "MLS-03 needs the lock files attached."}, _expect(("officer",))),
    ("acceptances list", "get", lambda w: "/api/v1/risk-acceptances/", None, _expect(EVERYONE)),
    ("acceptance propose", "post", lambda w: "/api/v1/risk-acceptances/",
     lambda w: {"project": w.org.project.pk, "practice": "MLS-15", "expires_on": future(),
                "justification": "Network monitoring arrives with the platform migration in Q2."},
     _expect(("lead",), ok=201, out_of_scope=400)),
    ("acceptance detail", "get", lambda w: f"/api/v1/risk-acceptances/{w.acceptance.pk}/", None, _expect(IN_SCOPE)),
    ("acceptance decide", "patch", lambda w: f"/api/v1/risk-acceptances/{w.acceptance.pk}/",
     lambda w: {"status": "approved", "decision_note": "Revisit in Q2."}, _expect(("officer",))),
    ("acceptance reword", "patch", lambda w: f"/api/v1/risk-acceptances/{w.acceptance.pk}/",
     lambda w: {"justification": "Out of scope until the data platform exists; reviewed quarterly."}, _expect(("lead",))),
    ("checks list", "get", lambda w: "/api/v1/checks/", None, _expect(EVERYONE)),
    ("run checks", "post", lambda w: f"/api/v1/projects/{w.org.project.pk}/run-checks/",
     lambda w: {"checks": ["source-secrets", "model-integrity"]}, _expect(("admin", "officer", "lead", "member"), ok=202)),
    ("check runs list", "get", lambda w: "/api/v1/check-runs/", None, _expect(EVERYONE)),
    ("check run detail", "get", lambda w: f"/api/v1/check-runs/{w.extra['run'].pk}/", None, _expect(IN_SCOPE)),
    ("baseline read", "get", lambda w: f"/api/v1/projects/{w.org.project.pk}/artifact-baseline/", None, _expect(IN_SCOPE)),
    ("baseline approve", "post", lambda w: f"/api/v1/projects/{w.org.project.pk}/artifact-baseline/", None,
     _expect(("officer", "lead"), ok=202)),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,method,path,body,expected", CASES, ids=[c[0] for c in CASES])
def test_role_gets_the_expected_status(world, api, role, name, method, path, body, expected):
    user = None if role == "anon" else world.org.users()[role]
    client = api(user)
    kwargs = {"format": "json"}
    if body is not None:
        kwargs["data"] = body(world)
    response = getattr(client, method)(path(world), **kwargs)
    assert response.status_code == expected[role], (name, role, response.status_code, getattr(response, "data", None))


def test_token_endpoint_is_open_to_anonymous_clients(org, api):
    from accounts.tests.factories import PASSWORD

    response = api().post("/api/v1/auth/token/", {"username": "lead", "password": PASSWORD}, format="json")
    assert response.status_code == 200 and response.data["token"]


def test_a_token_authenticates_api_calls(org, api):
    from accounts.tokens import token_issue

    _, key = token_issue(user=org.lead, mfa_verified=False)
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/projects/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/projects/").status_code == 401
