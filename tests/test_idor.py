"""Insecure direct object references: a lead of ANOTHER team tries every object of this team, by id.

Every object type (project, assessment, answer, evidence and its download, check run, risk
acceptance, report and its download, audit event) through the API and the pages, reading and
writing. Scope answers 404 (no existence leak), the audit trail 403 (a role, not a scope); nothing
changes.
"""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from assessments.choices import AssessmentStatus
from assessments.models import RiskAcceptance
from assessments.tests.factories import make_assessment
from audit.models import AuditEvent
from checks.models import CheckRun
from controls.models import Practice
from reports.models import Report
from reports.services import report_build


@pytest.fixture
def objects(org, api):
    draft = make_assessment(org.project, cycle="2026-Q4", levels=2)
    submitted = make_assessment(org.project, cycle="2026-Q3", levels=2, status=AssessmentStatus.SUBMITTED)
    response = api(org.lead).post("/api/v1/evidence/", {
        "project": org.project.pk, "practice": "MLS-08", "kind": "file", "title": "Pen test",
        "file": SimpleUploadedFile("pentest.txt", b"confidential findings")}, format="multipart")
    evidence_id = response.data["id"]
    run = CheckRun.objects.create(project=org.project, definition_id="source-secrets", status="failed",
                                  finished_at=timezone.now(), summary="1 secret")
    acceptance = RiskAcceptance.objects.create(
        project=org.project, practice=Practice.objects.get(code="MLS-15"), proposed_by=org.lead,
        justification="Flow logs arrive with the migration next quarter.",
        expires_on=timezone.localdate() + dt.timedelta(days=60))
    report = Report.objects.create(requested_by=org.lead, scope="team", team=org.team, format="csv")
    report_build(report.pk)
    event = AuditEvent.objects.filter(object_type="assessments.project", object_id=str(org.project.pk)).first() \
        or AuditEvent.objects.order_by("-seq").first()
    return {"project": org.project.pk, "draft": draft.pk, "submitted": submitted.pk, "evidence": evidence_id,
            "run": run.pk, "acceptance": acceptance.pk, "report": str(report.pk), "event": event.seq, "team": "fraud"}


API_CASES = [
    ("get", "/api/v1/projects/{project}/", None, 404),
    ("patch", "/api/v1/projects/{project}/", {"name": "mine now"}, 404),
    ("delete", "/api/v1/projects/{project}/", None, 404),
    ("post", "/api/v1/projects/{project}/run-checks/", {}, 404),
    ("get", "/api/v1/projects/{project}/artifact-baseline/", None, 404),
    ("post", "/api/v1/projects/{project}/artifact-baseline/", None, 404),
    ("get", "/api/v1/assessments/{draft}/", None, 404),
    ("post", "/api/v1/assessments/{draft}/submit/", None, 404),
    ("post", "/api/v1/assessments/{submitted}/approve/", {}, 404),
    ("post", "/api/v1/assessments/{submitted}/return/", {"comment": "x"}, 404),
    ("get", "/api/v1/assessments/{draft}/answers/MLS-01/", None, 404),
    ("patch", "/api/v1/assessments/{draft}/answers/MLS-01/", {"level": 4}, 404),
    ("put", "/api/v1/assessments/{draft}/answers/MLS-01/", {"level": 4}, 404),
    ("get", "/api/v1/evidence/{evidence}/", None, 404),
    ("get", "/api/v1/evidence/{evidence}/download/", None, 404),
    ("post", "/api/v1/evidence/{evidence}/review/", {"status": "accepted"}, 404),
    ("get", "/api/v1/check-runs/{run}/", None, 404),
    ("get", "/api/v1/risk-acceptances/{acceptance}/", None, 404),
    ("patch", "/api/v1/risk-acceptances/{acceptance}/", {"status": "approved"}, 404),
    ("get", "/api/v1/reports/{report}/", None, 404),
    ("get", "/api/v1/reports/{report}/download/", None, 404),
    ("get", "/api/v1/audit-events/{event}/", None, 403),
    ("get", "/api/v1/teams/{team}/", None, 404),
    ("get", "/api/v1/teams/{team}/members/", None, 404),
    ("get", "/api/v1/scorecard/?team={team}", None, 404),
]

PAGE_CASES = [
    ("get", "/projects/{project}/"), ("get", "/projects/{project}/edit/"), ("post", "/projects/{project}/edit/"),
    ("post", "/projects/{project}/assessments/start/"), ("post", "/projects/{project}/run-checks/"),
    ("post", "/projects/{project}/artifact-baseline/"), ("get", "/projects/{project}/evidence/new/?practice=MLS-01"),
    ("post", "/projects/{project}/risk-acceptances/"), ("get", "/assessments/{draft}/"),
    ("post", "/assessments/{draft}/"), ("post", "/assessments/{submitted}/review/"),
    ("get", "/evidence/{evidence}/"), ("get", "/evidence/{evidence}/download/"), ("post", "/evidence/{evidence}/review/"),
    ("get", "/check-runs/{run}/"), ("post", "/risk-acceptances/{acceptance}/decide/"),
    ("get", "/reports/{report}/download/"), ("get", "/teams/{team}/"), ("post", "/teams/{team}/projects/new/"),
]


def fingerprint():
    from assessments.models import Answer, Assessment, Project
    from evidence.models import Evidence

    return (
        tuple(Project.objects.values_list("name", "archived_at")), tuple(Assessment.objects.values_list("status")),
        tuple(Answer.objects.order_by("pk").values_list("level")), tuple(Evidence.objects.values_list("status")),
        tuple(RiskAcceptance.objects.values_list("status")), CheckRun.objects.count(),
    )


@pytest.mark.parametrize("method,path,body,expected", API_CASES, ids=[f"{m} {p}" for m, p, _, _ in API_CASES])
def test_a_lead_of_another_team_cannot_reach_this_teams_objects_through_the_api(objects, org, api, method, path, body,
                                                                                 expected):
    before = fingerprint()
    response = getattr(api(org.other_lead), method)(path.format(**objects), body, format="json")
    assert response.status_code == expected, (path, response.status_code)
    assert fingerprint() == before


@pytest.mark.parametrize("method,path", PAGE_CASES, ids=[f"{m} {p}" for m, p in PAGE_CASES])
def test_a_lead_of_another_team_cannot_reach_this_teams_objects_through_the_pages(objects, org, client, method, path):
    client.force_login(org.other_lead)
    before = fingerprint()
    response = getattr(client, method)(path.format(**objects), {"decision": "approve", "status": "accepted",
                                                                "cycle": "2027-Q1", "MLS-01-level": "4"})
    assert response.status_code == 404, (path, response.status_code)
    assert fingerprint() == before


def test_the_lists_do_not_mention_this_teams_objects(objects, org, api):
    client = api(org.other_lead)
    for url in ("/api/v1/projects/", "/api/v1/assessments/", "/api/v1/evidence/", "/api/v1/check-runs/",
                "/api/v1/risk-acceptances/", "/api/v1/reports/", "/api/v1/teams/"):
        body = client.get(url).json()
        assert all(item.get("team") != "fraud" for item in body["results"]), url
        assert str(objects["project"]) not in [str(item.get("project", item.get("id"))) for item in body["results"]], url
