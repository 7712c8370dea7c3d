"""The framework pages: who may open what, the team filter, the crosswalk, classifying a project, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.choices import AssessmentStatus
from assessments.tests.factories import ProjectFactory, make_assessment
from audit.models import AuditEvent

PAGES = ["/frameworks/", "/frameworks/nist-ai-rmf/", "/frameworks/eu-ai-act/", "/frameworks/crosswalk/"]


@pytest.mark.parametrize("role", ["admin", "officer", "auditor", "lead", "member", "other_lead", "nobody"])
def test_every_role_opens_the_framework_pages(org, client, role):
    client.force_login(getattr(org, role))  # nobody: in no team, so every figure is empty, never an error
    for url in PAGES:
        assert client.get(url).status_code == 200, url


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_lead_cannot_filter_on_another_team_or_its_projects(org, client):
    client.force_login(org.lead)
    assert client.get("/frameworks/nist-ai-rmf/", {"team": "recs"}).status_code == 404
    assert client.get("/frameworks/nist-ai-rmf/", {"project": org.other_project.pk}).status_code == 404
    page = client.get("/frameworks/nist-ai-rmf/").content.decode()
    assert 'value="fraud"' in page and 'value="recs"' not in page  # the team filter offers only their teams


def test_the_team_filter_narrows_the_page(org, client):
    make_assessment(org.project, levels=1, status=AssessmentStatus.APPROVED)
    make_assessment(org.other_project, levels=4, status=AssessmentStatus.APPROVED)
    client.force_login(org.officer)
    whole = client.get("/frameworks/iso-27001/").content.decode()
    fraud = client.get("/frameworks/iso-27001/", {"team": "fraud"}).content.decode()
    assert "Organisation · as of" in whole and "Fraud detection · as of" in fraud
    assert 'data-kpi="readiness">63' in whole and 'data-kpi="readiness">25' in fraud


def test_a_bad_day_on_the_page_is_a_400_with_a_message(org, client):
    client.force_login(org.officer)
    response = client.get("/frameworks/nist-ai-rmf/", {"as_of": "2999-01-01"})
    assert response.status_code == 400 and "cannot be in the future" in response.content.decode()
    assert client.get("/frameworks/nist-ai-rmf/", {"project": "x"}).status_code == 400
    assert client.get("/frameworks/iso-9001/").status_code == 404


def test_requirements_no_practice_maps_to_are_listed_as_not_covered(org, client):
    client.force_login(org.officer)
    page = client.get("/frameworks/nist-ai-rmf/").content.decode()
    row = page.split('id="req-govern-1-2"')[1].split("</tr>")[0]
    assert "not covered by the catalogue" in row
    assert "Not covered by the catalogue</h2>" in page


def test_the_crosswalk_lists_each_practices_requirements_per_framework(org, client):
    client.force_login(org.member)
    page = client.get("/frameworks/crosswalk/").content.decode()
    row = page.split('href="/catalogue/#MLS-01"')[1].split("</tr>")[0]
    for ref in ("MEASURE 2.7", "A.4.3", "A.8.24", "Article 15(5)", "ML05:2023", "LLM02:2025", "AML.M0012"):
        assert f">{ref}</a>" in row, ref
    assert 'href="/frameworks/iso-27001/#req-a-8-24"' in row


def classify(client, project, **data):
    return client.post(f"/frameworks/eu-ai-act/projects/{project.pk}/classify/", data)


def test_the_team_lead_classifies_a_project_and_the_change_is_audited(org, client):
    client.force_login(org.lead)
    response = classify(client, org.project, ai_act_role="provider", ai_act_risk_class="high-risk")
    assert response.status_code == 302 and response["Location"].endswith(f"?project={org.project.pk}")
    org.project.refresh_from_db()
    assert (org.project.ai_act_role, org.project.ai_act_risk_class) == ("provider", "high-risk")
    assert AuditEvent.objects.filter(action="project.update", object_id=str(org.project.pk), actor=org.lead).exists()
    page = client.get(f"/frameworks/eu-ai-act/?project={org.project.pk}").content.decode()
    assert "Save classification" in page and 'id="req-article-15-5"' in page


def test_members_auditors_and_other_teams_cannot_classify(org, client):
    for user, status in ((org.member, 403), (org.auditor, 403), (org.other_lead, 404)):
        client.force_login(user)
        assert classify(client, org.project, ai_act_role="provider", ai_act_risk_class="high-risk").status_code == status
    client.force_login(org.member)
    assert "Save classification" not in client.get(f"/frameworks/eu-ai-act/?project={org.project.pk}").content.decode()
    org.project.refresh_from_db()
    assert org.project.ai_act_role == ""
    assert client.get(f"/frameworks/eu-ai-act/projects/{org.project.pk}/classify/").status_code == 405


@pytest.mark.parametrize("data", [{"ai_act_role": "provider", "ai_act_risk_class": ""},
                                  {"ai_act_role": "king", "ai_act_risk_class": "high-risk"}, {}])
def test_a_half_or_unknown_classification_changes_nothing_and_says_why(org, client, data):
    client.force_login(org.lead)
    response = classify(client, org.project, **data)
    if not data:  # clearing an unclassified project: valid, and changes nothing
        assert response.status_code == 302
    else:
        messages = [m.message for m in client.get(response["Location"]).context["messages"]]
        assert messages and ("both" in messages[0] or "from the lists" in messages[0])
    org.project.refresh_from_db()
    assert (org.project.ai_act_role, org.project.ai_act_risk_class) == ("", "")


def count_queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_pages_and_the_api_cost_the_same_queries_for_few_and_many_projects(org, client):
    client.force_login(org.officer)
    urls = [*PAGES, "/frameworks/eu-ai-act/?team=fraud", "/api/v1/frameworks/nist-ai-rmf/readiness/",
            "/api/v1/frameworks/eu-ai-act/readiness/", f"/api/v1/frameworks/eu-ai-act/readiness/?project={org.project.pk}",
            "/api/v1/frameworks/", "/dashboard/"]
    make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    few = {url: count_queries(client, url) for url in urls}
    for n in range(12):
        project = ProjectFactory(team=org.team if n % 2 else org.other_team, ai_act_role="provider",
                                 ai_act_risk_class="prohibited" if n == 3 else "high-risk")
        make_assessment(project, levels=n % 5, status=AssessmentStatus.APPROVED)
    many = {url: count_queries(client, url) for url in urls}
    assert many == few
    assert max(v for k, v in many.items() if k.startswith("/api/v1/frameworks/") and "readiness" in k) <= 10
