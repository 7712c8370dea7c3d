"""The review queue shows 50 submitted assessments a page, oldest first; a bad page number never fails."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from assessments.choices import AssessmentStatus
from assessments.models import Assessment
from assessments.tests.factories import ProjectFactory, make_assessment
from assessments.views import REVIEW_QUEUE_PAGE

pytestmark = pytest.mark.django_db


def rows(content: str) -> list[str]:
    return re.findall(r'href="/assessments/(\d+)/"', content)


def test_the_queue_is_paged_oldest_first_and_bad_page_numbers_show_the_nearest_page(org, client):
    start = timezone.now() - dt.timedelta(days=30)
    submitted = []
    for i in range(REVIEW_QUEUE_PAGE + 7):
        assessment = make_assessment(ProjectFactory(team=org.other_team), levels=2, status=AssessmentStatus.SUBMITTED)
        Assessment.objects.filter(pk=assessment.pk).update(submitted_at=start + dt.timedelta(hours=i))
        submitted.append(str(assessment.pk))
    client.force_login(org.officer)
    first = client.get("/review-queue/").content.decode()
    assert rows(first) == submitted[:REVIEW_QUEUE_PAGE]
    assert f"1–{REVIEW_QUEUE_PAGE} of {len(submitted)}" in first and 'href="?page=2"' in first
    second = client.get("/review-queue/?page=2").content.decode()
    assert rows(second) == submitted[REVIEW_QUEUE_PAGE:]
    assert rows(client.get("/review-queue/?page=999").content.decode()) == submitted[REVIEW_QUEUE_PAGE:]
    for bad in ("abc", "-1", "0", "1e9", "%00"):
        response = client.get("/review-queue/", {"page": bad})
        assert response.status_code == 200
        assert rows(response.content.decode()) in (submitted[:REVIEW_QUEUE_PAGE], submitted[REVIEW_QUEUE_PAGE:])
