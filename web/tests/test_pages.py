"""The server-rendered pages: who sees what, the assessment form round trip, the review queue."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import PASSWORD
from assessments.choices import AssessmentStatus
from assessments.models import Assessment
from assessments.tests.factories import ProjectFactory, make_assessment


def test_login_page_signs_in_and_lands_on_home(client, org):
    assert client.get("/").status_code == 302
    response = client.post("/accounts/login/", {"username": "lead", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert b"Card fraud scorer" in response.content


def test_login_with_a_wrong_password_shows_an_error(client, org):
    response = client.post("/accounts/login/", {"username": "lead", "password": "wrong"})
    assert response.status_code == 200 and b"Unable to sign in" in response.content


def test_login_ignores_a_next_url_on_another_host(client, org):
    response = client.post("/accounts/login/?next=https://evil.example/", {"username": "lead", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"


def test_home_shows_my_teams_projects_and_assessment_status(web, org):
    make_assessment(org.project, status=AssessmentStatus.SUBMITTED, levels=2)
    content = web(org.lead).get("/").content.decode()
    assert "Fraud detection" in content and "Card fraud scorer" in content and "Submitted" in content
    assert "Recommendations" not in content and "Home feed ranker" not in content


def test_a_lead_gets_404_for_another_teams_pages(web, org):
    other = make_assessment(org.other_project)
    client = web(org.lead)
    for url in (f"/teams/{org.other_team.slug}/", f"/projects/{org.other_project.pk}/",
                f"/projects/{org.other_project.pk}/edit/", f"/assessments/{other.pk}/"):
        assert client.get(url).status_code == 404, url


def test_the_assessment_form_shows_25_practices_with_their_rubric(web, org):
    assessment = make_assessment(org.project)
    content = web(org.member).get(f"/assessments/{assessment.pk}/").content.decode()
    for n in range(1, 26):
        assert f'id="practice-MLS-{n:02d}"' in content
    assert content.count('type="radio"') == 125  # five levels beside each practice
    assert "0 of 25 answered" in content.replace("<span id=\"answered-count\">", "").replace("</span>", "")


def _form_data(assessment, **overrides):
    data = {}
    for answer in assessment.answers.select_related("practice"):
        code = answer.practice.code
        if answer.level is not None:
            data[f"{code}-level"] = str(answer.level)
    data.update(overrides)
    return data


def test_saving_the_form_updates_answers_and_audits_them(web, org):
    assessment = make_assessment(org.project)
    response = web(org.member).post(f"/assessments/{assessment.pk}/", _form_data(
        assessment, **{"MLS-01-level": "3", "MLS-01-owner": "member", "MLS-01-notes": "KMS keys rotate yearly.",
                       "MLS-14-not_applicable": "on", "MLS-14-justification": "One governed warehouse.", "save": ""}))
    assert response.status_code == 302
    answer = assessment.answers.get(practice__code="MLS-01")
    assert (answer.level, answer.owner, answer.notes) == (3, "member", "KMS keys rotate yearly.")
    assert assessment.answers.get(practice__code="MLS-14").not_applicable


def test_an_invalid_answer_is_explained_and_the_valid_ones_are_saved(web, org):
    assessment = make_assessment(org.project)
    response = web(org.member).post(f"/assessments/{assessment.pk}/", _form_data(
        assessment, **{"MLS-01-level": "3", "MLS-14-not_applicable": "on", "save": ""}))
    assert response.status_code == 200
    assert b"Not applicable needs a justification" in response.content
    assert assessment.answers.get(practice__code="MLS-01").level == 3
    assert not assessment.answers.get(practice__code="MLS-14").not_applicable


def test_submitting_an_incomplete_form_saves_and_lists_the_missing_codes(web, org):
    assessment = make_assessment(org.project, levels={f"MLS-{n:02d}": 2 for n in range(1, 25)})
    response = web(org.lead).post(f"/assessments/{assessment.pk}/", _form_data(assessment, submit="1"), follow=True)
    assert b"MLS-25" in response.content
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.DRAFT


def test_the_lead_submits_and_an_officer_returns_then_approves(web, org, client):
    assessment = make_assessment(org.project, levels=2)
    web(org.lead).post(f"/assessments/{assessment.pk}/", _form_data(assessment, submit="1"))
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SUBMITTED

    officer = web(org.officer)
    assert f"/assessments/{assessment.pk}/".encode() in officer.get("/review-queue/").content
    response = officer.post(f"/assessments/{assessment.pk}/review/", {"decision": "return", "comment": ""})
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SUBMITTED  # no comment, no return
    officer.post(f"/assessments/{assessment.pk}/review/", {"decision": "return", "comment": "Explain MLS-04."})
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.RETURNED

    web(org.lead).post(f"/assessments/{assessment.pk}/", _form_data(assessment, submit="1"))
    response = web(org.officer).post(f"/assessments/{assessment.pk}/review/", {"decision": "approve"})
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.APPROVED


def test_a_member_cannot_post_to_an_approved_assessment(web, org):
    assessment = make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    response = web(org.member).post(f"/assessments/{assessment.pk}/", {"MLS-01-level": "4", "save": ""})
    assert response.status_code == 403
    assert assessment.answers.get(practice__code="MLS-01").level == 2


def test_an_auditor_reads_but_cannot_review_or_edit(web, org):
    assessment = make_assessment(org.project, levels=2, status=AssessmentStatus.SUBMITTED)
    client = web(org.auditor)
    assert client.get(f"/assessments/{assessment.pk}/").status_code == 200
    client.post(f"/assessments/{assessment.pk}/review/", {"decision": "approve"})
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SUBMITTED


def test_a_lead_creates_a_project_and_starts_an_assessment(web, org, team_dir):
    client = web(org.lead)
    files = team_dir(org.team)
    response = client.post("/teams/fraud/projects/new/", {
        "name": "Chargeback predictor", "slug": "chargebacks", "risk_tier": "high", "lifecycle": "development",
        "data_classification": "confidential", "source_path": f"{files}/src",
        "dependency_files": f"{files}/src/requirements.txt\n", "model_artifacts": "", "datasets": "",
        "endpoint_url": "https://chargebacks.internal/v1",
    })
    assert response.status_code == 302
    project = org.team.projects.get(slug="chargebacks")
    assert project.check_targets == {"source_path": f"{files}/src", "endpoint_url": "https://chargebacks.internal/v1",
                                     "dependency_files": [f"{files}/src/requirements.txt"]}
    client.post(f"/projects/{project.pk}/assessments/start/", {"cycle": "2026-Q4"})
    assert Assessment.objects.get(project=project).answers.count() == 25


def test_a_bad_check_target_is_a_form_error(web, org):
    response = web(org.lead).post(f"/projects/{org.project.pk}/edit/", {
        "name": "Card fraud scorer", "risk_tier": "high", "lifecycle": "production", "data_classification": "internal",
        "source_path": "relative/path", "endpoint_url": "",
    })
    assert response.status_code == 200 and b"absolute path" in response.content


def test_the_catalogue_page_lists_every_practice(web, org):
    content = web(org.member).get("/catalogue/").content.decode()
    assert all(f"MLS-{n:02d}" in content for n in range(1, 26))


def _queries(client, url):
    client.get(url)  # warm per-process caches (the catalogue version) so only the page's own queries count
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who,url", [("lead", "/"), ("officer", "/dashboard/"), ("officer", "/teams/"),
                                     ("officer", "/teams/fraud/"), ("lead", "/teams/fraud/"),
                                     ("officer", "/review-queue/")])
def test_pages_cost_the_same_queries_for_few_and_many_projects(web, org, who, url):
    client = web(getattr(org, who))
    make_assessment(ProjectFactory(team=org.team), status=AssessmentStatus.SUBMITTED, levels=1)
    few = _queries(client, url)
    for _ in range(10):
        make_assessment(ProjectFactory(team=org.team), status=AssessmentStatus.SUBMITTED, levels=1)
    assert _queries(client, url) == few


def test_the_assessment_form_costs_the_same_queries_whatever_is_answered(web, org):
    client = web(org.member)
    empty = make_assessment(org.project, cycle="2026-Q3")
    full = make_assessment(org.project, cycle="2026-Q4", levels=3)
    assert _queries(client, f"/assessments/{empty.pk}/") == _queries(client, f"/assessments/{full.pk}/")


def test_officers_land_on_the_dashboard(web, org):
    response = web(org.officer).get("/")
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert web(org.lead).get("/dashboard/")["Location"] == "/"


def test_the_project_page_shows_each_practice_with_its_level_score_and_checks(web, org):
    from checks.models import CheckRun

    make_assessment(org.project, levels=3, na=("MLS-14",), status=AssessmentStatus.APPROVED)
    CheckRun.objects.create(project=org.project, definition_id="dependency-vulnerabilities", status="failed",
                            summary="2 vulnerable packages", finished_at=timezone.now())
    content = web(org.member).get(f"/projects/{org.project.pk}/").content.decode()
    assert "dependency-vulnerabilities: failed" in content and "capped" in content
    assert 'id="levels"' in content and "N/A" in content
    assert "<title>Card fraud scorer · MLSec Portal</title>" in content


def test_the_project_page_costs_the_same_queries_with_more_history(web, org):
    from checks.models import CheckRun

    client = web(org.member)
    make_assessment(org.project, levels=3, status=AssessmentStatus.APPROVED)
    CheckRun.objects.create(project=org.project, definition_id="source-secrets", status="passed", finished_at=timezone.now())
    few = _queries(client, f"/projects/{org.project.pk}/")
    for key in ("source-secrets", "model-integrity", "endpoint-transport") * 4:
        CheckRun.objects.create(project=org.project, definition_id=key, status="failed", finished_at=timezone.now())
    make_assessment(org.project, cycle="2026-Q3", levels=2)
    assert _queries(client, f"/projects/{org.project.pk}/") == few
