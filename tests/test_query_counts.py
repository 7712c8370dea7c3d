"""Every list costs the same number of queries for 1 row and for 20 (no N+1)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.choices import TeamRole
from accounts.models import Membership
from accounts.tests.factories import TeamFactory, UserFactory
from assessments.models import RiskAcceptance
from assessments.tests.factories import ProjectFactory, make_assessment
from controls.models import Practice


def count_queries(client, url) -> int:
    client.get(url)  # warm per-process caches (the catalogue version)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def add_users(org, n):
    for _ in range(n):
        UserFactory()


def add_teams(org, n):
    for _ in range(n):
        TeamFactory()


def add_members(org, n):
    for _ in range(n):
        Membership.objects.create(team=org.other_team, user=UserFactory(), role=TeamRole.MEMBER)


def add_projects(org, n):
    for _ in range(n):
        ProjectFactory(team=org.other_team)


def add_assessments(org, n):
    for i in range(n):
        make_assessment(ProjectFactory(team=org.other_team), cycle="2026-Q4", levels=i % 5)


def add_acceptances(org, n):
    practice = Practice.objects.get(code="MLS-14")
    for _ in range(n):
        RiskAcceptance.objects.create(project=ProjectFactory(team=org.other_team), practice=practice,
                                      proposed_by=org.other_lead, justification="x" * 30,
                                      expires_on=timezone.localdate() + dt.timedelta(days=30))


def add_practices(org, n):
    from controls.services import practice_create_custom

    for i in range(n):
        practice_create_custom(actor=org.admin, title=f"Own practice {i}", category="Governance and people",
                               description="d", levels=[{"level": j, "summary": f"l{j}"} for j in range(5)])


def add_check_runs(org, n):
    from checks.models import CheckRun
    from evidence.models import Evidence

    for _ in range(n):
        run = CheckRun.objects.create(project=ProjectFactory(team=org.other_team), definition_id="source-secrets",
                                      status="failed", finished_at=timezone.now(),
                                      findings=[{"severity": "high", "title": "t", "detail": "", "ref": "a.py:1"}])
        Evidence.objects.create(project=run.project, practice=Practice.objects.get(code="MLS-13"), kind="check",
                                check_run=run, title="check")


def add_evidence(org, n):
    from evidence.models import Evidence

    for i in range(n):
        Evidence.objects.create(project=ProjectFactory(team=org.other_team), practice=Practice.objects.get(code="MLS-08"),
                                kind="note", title=f"note {i}", text="t", uploaded_by=org.other_lead)


def add_events(org, n):
    from audit.services import audit_alone

    for i in range(n):
        audit_alone(actor=org.lead, action="test.event", object_type="x", object_id=str(i), after={"i": i})


def add_reports(org, n):
    from reports.models import Report

    for _ in range(n):
        Report.objects.create(requested_by=org.other_lead, scope="team", team=org.other_team, format="csv")


LISTS = [
    ("/api/v1/evidence/", add_evidence),
    ("/api/v1/audit-events/", add_events),
    ("/api/v1/reports/", add_reports),
    ("/api/v1/check-runs/", add_check_runs),
    ("/api/v1/checks/", lambda org, n: None),
    ("/api/v1/users/", add_users),
    ("/api/v1/teams/", add_teams),
    ("/api/v1/teams/recs/members/", add_members),
    ("/api/v1/projects/", add_projects),
    ("/api/v1/assessments/", add_assessments),
    ("/api/v1/risk-acceptances/", add_acceptances),
    ("/api/v1/practices/?page_size=100", add_practices),
]


@pytest.mark.parametrize("url,add_rows", LISTS, ids=[u for u, _ in LISTS])
def test_a_list_costs_the_same_queries_for_1_and_20_rows(org, api, url, add_rows):
    client = api(org.admin)
    add_rows(org, 1)
    few = count_queries(client, url)
    add_rows(org, 19)
    many = count_queries(client, url)
    assert many == few, f"{url}: {few} queries for few rows, {many} for many"
