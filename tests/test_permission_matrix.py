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
from checks.models import BaselineApproval, CheckRun
from controls.models import Practice
from evidence.models import Evidence, EvidenceKind

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
    evidence = Evidence.objects.create(project=org.project, practice=Practice.objects.get(code="MLS-03"),
                                       kind=EvidenceKind.NOTE, title="Dependabot settings",
                                       text="Weekly updates on every repository.", uploaded_by=org.member)
    return World(org=org, draft=draft, submitted=submitted, acceptance=acceptance,
                 extra={"run": run, "evidence": evidence})


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
    ("evidence upload", "post", lambda w: "/api/v1/evidence/",
     lambda w: {"project": w.org.project.pk, "practice": "MLS-03", "kind": "note", "title": "Lock files",
                "text": "Every repository commits its lock file."},
     _expect(("lead", "member"), ok=201, out_of_scope=400)),
    ("evidence review", "post", lambda w: f"/api/v1/evidence/{w.extra['evidence'].pk}/review/",
     lambda w: {"status": "accepted", "note": "Checked on two repositories."}, _expect(("officer",))),
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


# --- the same matrix on the pages ---------------------------------------------------------------
# Each page that creates, decides, approves, uploads or reviews is named after its API case above, and
# its expectation is DERIVED from that case's row: a role the API lets through changes the same thing
# through the page (its form redirects, `effect` holds), a role the API answers 403 gets 403 and nothing
# changes, a role to whom the object does not exist (404, or 400 "no such project" in a body) gets 404,
# and an anonymous visitor is sent to sign in. The page that offers the action shows its button or
# link (`offer`) exactly to the roles allowed: templates read the model's rule, they hold none.

def _project_form(w, **changes):
    from assessments.forms import ProjectForm

    initial = ProjectForm(project=w.org.project).initial
    return {**{k: v for k, v in initial.items() if v is not None}, **changes}


PAGE_CASES = [
    # API case name, path(world), form(world), effect(world, user) -> bool, offer: (page(world), marker(world)) or None
    ("project create", lambda w: "/teams/fraud/projects/new/",
     lambda w: {"name": "Chargeback predictor", "slug": "chargebacks", "risk_tier": "high", "lifecycle": "production",
                "data_classification": "internal"},
     lambda w, u: w.org.project.team.projects.filter(slug="chargebacks").exists(),
     (lambda w: "/teams/fraud/", lambda w: 'href="/teams/fraud/projects/new/"')),
    ("member add", lambda w: "/teams/fraud/members/", lambda w: {"user": w.org.nobody.pk, "role": "member"},
     lambda w, u: w.org.team.memberships.filter(user=w.org.nobody).exists(),
     (lambda w: "/teams/fraud/", lambda w: 'href="/teams/fraud/members/"')),
    ("member remove", lambda w: f"/teams/fraud/members/{w.org.member.pk}/remove/", lambda w: {},
     lambda w, u: not w.org.team.memberships.filter(user=w.org.member).exists(), None),
    ("project update", lambda w: f"/projects/{w.org.project.pk}/edit/", lambda w: _project_form(w, risk_tier="critical"),
     lambda w, u: type(w.org.project).objects.get(pk=w.org.project.pk).risk_tier == "critical",
     (lambda w: f"/projects/{w.org.project.pk}/", lambda w: f'href="/projects/{w.org.project.pk}/edit/"')),
    ("assessment create", lambda w: f"/projects/{w.org.project.pk}/assessments/start/",
     lambda w: {"cycle": "2027-Q1", "copy_previous": "on"},
     lambda w, u: w.org.project.assessments.filter(cycle="2027-Q1").exists(), None),
    ("approve", lambda w: f"/assessments/{w.submitted.pk}/review/", lambda w: {"decision": "approve", "comment": "Good."},
     lambda w, u: type(w.submitted).objects.get(pk=w.submitted.pk).status == AssessmentStatus.APPROVED,
     (lambda w: f"/assessments/{w.submitted.pk}/", lambda w: f'action="/assessments/{w.submitted.pk}/review/"')),
    ("return", lambda w: f"/assessments/{w.submitted.pk}/review/",
     lambda w: {"decision": "return", "comment": "MLS-03 needs the lock files attached."},
     lambda w, u: type(w.submitted).objects.get(pk=w.submitted.pk).status == AssessmentStatus.RETURNED,
     (lambda w: "/review-queue/", lambda w: f'class="btn btn-secondary" href="/assessments/{w.submitted.pk}/">Review')),
    ("acceptance propose", lambda w: f"/projects/{w.org.project.pk}/risk-acceptances/",
     lambda w: {"practice": "MLS-15", "expires_on": future(),
                "justification": "Network monitoring arrives with the platform migration in Q2."},
     lambda w, u: RiskAcceptance.objects.filter(project=w.org.project, practice__code="MLS-15").exists(),
     (lambda w: f"/projects/{w.org.project.pk}/", lambda w: f'action="/projects/{w.org.project.pk}/risk-acceptances/"')),
    ("acceptance decide", lambda w: f"/risk-acceptances/{w.acceptance.pk}/decide/",
     lambda w: {"status": "approved", "note": "Revisit in Q2."},
     lambda w, u: RiskAcceptance.objects.get(pk=w.acceptance.pk).status == AcceptanceStatus.APPROVED,
     (lambda w: f"/projects/{w.org.project.pk}/", lambda w: f'action="/risk-acceptances/{w.acceptance.pk}/decide/"')),
    ("run checks", lambda w: f"/projects/{w.org.project.pk}/run-checks/",
     lambda w: {"check": ["source-secrets", "model-integrity"]},
     lambda w, u: CheckRun.objects.filter(project=w.org.project, requested_by=u).exists(),
     (lambda w: f"/projects/{w.org.project.pk}/", lambda w: f'action="/projects/{w.org.project.pk}/run-checks/"')),
    ("baseline approve", lambda w: f"/projects/{w.org.project.pk}/artifact-baseline/", lambda w: {},
     lambda w, u: BaselineApproval.objects.filter(project=w.org.project, requested_by=u).exists(),
     (lambda w: f"/projects/{w.org.project.pk}/", lambda w: f'action="/projects/{w.org.project.pk}/artifact-baseline/"')),
    ("evidence upload", lambda w: f"/projects/{w.org.project.pk}/evidence/new/?practice=MLS-03",
     lambda w: {"practice": "MLS-03", "kind": "note", "title": "Lock files", "text": "Every repository commits its lock file."},
     lambda w, u: Evidence.objects.filter(project=w.org.project, title="Lock files").exists(),
     (lambda w: f"/evidence/{w.extra['evidence'].pk}/", lambda w: f'href="/projects/{w.org.project.pk}/evidence/new/')),
    ("evidence review", lambda w: f"/evidence/{w.extra['evidence'].pk}/review/",
     lambda w: {"status": "accepted", "note": "Checked on two repositories."},
     lambda w, u: Evidence.objects.get(pk=w.extra["evidence"].pk).status == "accepted",
     (lambda w: f"/evidence/{w.extra['evidence'].pk}/", lambda w: f'action="/evidence/{w.extra["evidence"].pk}/review/"')),
]
API_EXPECTED = {case[0]: case[4] for case in CASES}


def _page_outcome(api_status: int) -> str:
    if api_status == 401:
        return "sign in"
    if 200 <= api_status < 300:
        return "allowed"
    return {403: "forbidden", 404: "hidden", 400: "hidden"}[api_status]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,path,form,effect,offer", PAGE_CASES, ids=[c[0] for c in PAGE_CASES])
def test_the_page_gives_each_role_the_outcome_the_api_gives(world, client, role, name, path, form, effect, offer):
    user = None if role == "anon" else world.org.users()[role]
    if user is not None:
        client.force_login(user)
    outcome = _page_outcome(API_EXPECTED[name][role])
    response = client.post(path(world), form(world))
    if outcome == "sign in":
        assert response.status_code == 302 and "/login" in response["Location"], (name, role, response.status_code)
        return
    expected_status = {"allowed": (200, 302), "forbidden": (403,), "hidden": (404,)}[outcome]
    assert response.status_code in expected_status, (name, role, outcome, response.status_code)
    assert effect(world, user) == (outcome == "allowed"), (name, role, outcome)


@pytest.mark.parametrize("role", [r for r in ROLES if r not in ("anon", "other_lead")])
@pytest.mark.parametrize("name,page,marker", [(c[0], *c[4]) for c in PAGE_CASES if c[4]],
                         ids=[c[0] for c in PAGE_CASES if c[4]])
def test_the_page_offers_each_action_exactly_to_the_roles_allowed(world, client, role, name, page, marker):
    client.force_login(world.org.users()[role])
    response = client.get(page(world))
    assert response.status_code == 200, (name, role, response.status_code)
    offered = marker(world) in response.content.decode()
    assert offered == (_page_outcome(API_EXPECTED[name][role]) == "allowed"), (name, role, offered)
