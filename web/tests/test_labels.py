"""Labels tell the truth: roles, whose team, what a person may do, and the pages a visitor meets."""

import os
import re
import subprocess
import sys
from pathlib import Path

from accounts.choices import TeamRole
from accounts.models import Membership
from assessments.choices import AssessmentStatus
from assessments.tests.factories import make_assessment

ROOT = Path(__file__).resolve().parents[2]


def role_in_top_bar(content: str) -> str:
    return re.search(r'<div class="user-menu">\s*<span>(.*?)</span>', content).group(1)


def test_a_lead_is_shown_as_lead_and_a_member_as_member(web, org):
    assert role_in_top_bar(web(org.lead).get("/").content.decode()) == "lead · team lead"
    assert role_in_top_bar(web(org.member).get("/").content.decode()) == "member · team member"
    assert role_in_top_bar(web(org.officer).get("/dashboard/").content.decode()) == "officer · Security officer"
    assert role_in_top_bar(web(org.nobody).get("/").content.decode()) == "nobody · no team yet"


def test_the_home_page_says_what_the_role_in_each_team_means(web, org):
    assert "You lead this team" in web(org.lead).get("/").content.decode()
    assert "You are a member of this team" in web(org.member).get("/").content.decode()


def test_an_auditor_is_not_told_your_team_in_the_review_queue(web, org):
    submitted = make_assessment(org.project, levels=2, status=AssessmentStatus.SUBMITTED)
    content = web(org.auditor).get("/review-queue/").content.decode()
    assert "your team" not in content
    assert f'href="/assessments/{submitted.pk}/">View</a>' in content


def test_an_officer_in_the_team_is_told_another_officer_reviews(web, org):
    make_assessment(org.project, levels=2, status=AssessmentStatus.SUBMITTED)
    Membership.objects.create(team=org.team, user=org.officer, role=TeamRole.MEMBER)
    assert "your team: another officer reviews" in web(org.officer).get("/review-queue/").content.decode()


def test_an_officer_is_not_offered_continue_on_a_draft_it_cannot_edit(web, org):
    draft = make_assessment(org.project, levels={"MLS-01": 2})
    for url in (f"/teams/{org.team.slug}/", f"/projects/{org.project.pk}/"):
        content = web(org.officer).get(url).content.decode()
        assert "Continue" not in content, url
        assert f'href="/assessments/{draft.pk}/">View' in content, url
    lead_page = web(org.lead).get(f"/projects/{org.project.pk}/").content.decode()
    assert f'href="/assessments/{draft.pk}/">Continue' in lead_page


def test_an_officer_is_offered_review_on_a_submitted_assessment(web, org):
    submitted = make_assessment(org.project, levels=2, status=AssessmentStatus.SUBMITTED)
    content = web(org.officer).get(f"/projects/{org.project.pk}/").content.decode()
    assert f'href="/assessments/{submitted.pk}/">Review {submitted.cycle}' in content


def test_a_wrong_address_gets_the_portals_own_not_found_page(web, org):
    response = web(org.lead).get("/no-such-page/")
    assert response.status_code == 404
    content = response.content.decode()
    assert "<title>Page not found · MLSec Portal</title>" in content and 'href="/"' in content
    assert "URLconf" not in content and "Using the URLconf" not in content
    anonymous = web(org.lead)
    anonymous.logout()
    assert b"Page not found" in anonymous.get("/projects/999999/x/").content


def test_a_forbidden_action_gets_a_page_that_says_so(web, org):
    approved = make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    response = web(org.member).post(f"/assessments/{approved.pk}/", {"save": ""})
    assert response.status_code == 403 and b"<title>Not allowed" in response.content


def test_the_demo_runs_without_django_debug_pages(tmp_path):
    """`make demo` (scripts/demo.sh) picks a settings module whose DEBUG is off unless asked for."""
    script = (ROOT / "scripts" / "demo.sh").read_text()
    module = re.search(r'DJANGO_SETTINGS_MODULE="\$\{DJANGO_SETTINGS_MODULE:-([\w.]+)\}"', script).group(1)
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE=module, MLSEC_VAR_DIR=str(tmp_path))
    probe = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"

    def debug(**extra):
        result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={**env, **extra}, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert debug() == "False"
    assert debug(DJANGO_DEBUG="1") == "True"
