"""The review page: what an officer needs to decide, per practice, on one screen, at a constant cost."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessments.choices import AssessmentStatus
from assessments.tests.factories import make_assessment
from checks.models import CheckRun
from controls.models import Practice
from evidence.models import Evidence


def row(content: str, code: str) -> str:
    match = re.search(rf'<tr id="practice-{code}">(.*?)</tr>', content, re.S)
    assert match, f"no row for {code}"
    return match.group(1)


@pytest.fixture
def submitted(org):
    make_assessment(org.project, cycle="2026-Q3", levels={f"MLS-{n:02d}": 1 for n in range(1, 26)},
                    status=AssessmentStatus.APPROVED, reviewed_at=timezone.now() - dt.timedelta(days=60))
    levels = {f"MLS-{n:02d}": 1 for n in range(1, 26)}
    levels.update({"MLS-01": 2, "MLS-02": 0, "MLS-03": 3})
    return make_assessment(org.project, cycle="2026-Q4", levels=levels, na=("MLS-14",),
                           status=AssessmentStatus.SUBMITTED)


def test_the_review_page_shows_every_practice_as_one_compact_row(web, org, submitted):
    content = web(org.officer).get(f"/assessments/{submitted.pk}/").content.decode()
    assert content.count('<tr id="practice-MLS-') == 25
    assert 'type="radio"' not in content and '<article class="practice' not in content  # no 25 disabled forms
    assert "24 of 25 answered" not in content and "25 of 25 answered" in content


def test_the_review_page_shows_the_change_since_the_last_approved_cycle(web, org, submitted):
    content = web(org.officer).get(f"/assessments/{submitted.pk}/").content.decode()
    assert "Since 2026-Q3" in content and "4 changed since the approved 2026-Q3" in content
    assert 'data-change="+1"' in row(content, "MLS-01") and "was 1" in row(content, "MLS-01")
    assert 'data-change="−1"' in row(content, "MLS-02")
    assert 'data-change="+2"' in row(content, "MLS-03")
    assert 'data-change="now N/A"' in row(content, "MLS-14")
    assert 'data-change="="' in row(content, "MLS-20")


def test_the_review_page_shows_check_verdicts_and_the_cap_they_impose(web, org, submitted):
    CheckRun.objects.create(project=org.project, definition_id="dependency-vulnerabilities", status="failed",
                            summary="2 vulnerable packages", finished_at=timezone.now())
    CheckRun.objects.create(project=org.project, definition_id="source-static-analysis", status="passed",
                            summary="clean", finished_at=timezone.now())
    content = web(org.officer).get(f"/assessments/{submitted.pk}/").content.decode()
    mls03 = row(content, "MLS-03")
    assert "dependency-vulnerabilities: failed" in mls03 and "flag-capped" in mls03 and "→ 1" in mls03
    assert "source-static-analysis: passed" in row(content, "MLS-13")
    assert "flag-capped" not in row(content, "MLS-13")
    assert "1 capped by a failing check" in content
    assert "endpoint-transport: never run" in row(content, "MLS-22")


def test_the_review_page_marks_expired_evidence(web, org, submitted):
    practice = Practice.objects.get(code="MLS-08")
    Evidence.objects.create(project=org.project, practice=practice, kind="note", title="Pen test 2025", text="t",
                            status="accepted", valid_until=timezone.localdate() - dt.timedelta(days=2))
    Evidence.objects.create(project=org.project, practice=Practice.objects.get(code="MLS-10"), kind="note",
                            title="Training export", text="t", status="pending",
                            valid_until=timezone.localdate() + dt.timedelta(days=200))
    content = web(org.officer).get(f"/assessments/{submitted.pk}/").content.decode()
    assert "Pen test 2025" in row(content, "MLS-08") and "expired" in row(content, "MLS-08")
    assert "Training export" in row(content, "MLS-10") and "expired" not in row(content, "MLS-10")
    assert "1 evidence expired" in content


def test_approve_and_return_are_at_the_top_of_the_review_page(web, org, submitted):
    content = web(org.officer).get(f"/assessments/{submitted.pk}/").content.decode()
    assert content.index(">Approve</button>") < content.index('<tr id="practice-MLS-01">')
    assert content.index("Return with comment") < content.index('<tr id="practice-MLS-01">')


def test_an_auditor_and_the_team_read_the_review_page_without_the_decision(web, org, submitted):
    for user in (org.auditor, org.lead, org.member):
        content = web(user).get(f"/assessments/{submitted.pk}/").content.decode()
        assert content.count('<tr id="practice-MLS-') == 25
        assert ">Approve</button>" not in content and "Return with comment" not in content


def test_the_review_page_costs_the_same_queries_with_more_runs_evidence_and_history(web, org, submitted):
    client = web(org.officer)
    url = f"/assessments/{submitted.pk}/"

    def queries():
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for key in ("dependency-vulnerabilities", "source-secrets", "endpoint-transport", "model-integrity") * 3:
        CheckRun.objects.create(project=org.project, definition_id=key, status="failed", finished_at=timezone.now())
    for code in ("MLS-01", "MLS-08", "MLS-10", "MLS-17") * 3:
        Evidence.objects.create(project=org.project, practice=Practice.objects.get(code=code), kind="note",
                                title="note", text="t", valid_until=timezone.localdate() - dt.timedelta(days=1))
    make_assessment(org.project, cycle="2025-Q4", levels=3, status=AssessmentStatus.RETURNED)
    assert queries() == few
