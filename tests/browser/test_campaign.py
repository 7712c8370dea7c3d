"""An officer launches a campaign for every team; the lead is notified, follows the notification to "my work",
opens the draft and submits."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.tests.factories import PASSWORD
from assessments.choices import AssessmentStatus
from assessments.models import Assessment
from assessments.tests.factories import make_assessment
from audit.models import AuditEvent
from notifications.models import Notification, OutboxMessage

from .conftest import PageWatch, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_officer_launches_a_campaign_and_the_lead_opens_the_draft_and_submits(live_server, browser, org):
    make_assessment(org.project, cycle="2026-Q4", levels=3, status=AssessmentStatus.APPROVED)
    deadline = (timezone.localdate() + dt.timedelta(days=30)).isoformat()

    officer = browser.new_context(viewport={"width": 1440, "height": 900})
    watch = PageWatch(officer.new_page())
    page = watch.page
    sign_in(page, live_server.url, "officer", PASSWORD)
    page.goto(f"{live_server.url}/campaigns/")
    page.fill("#id_cycle", "2027-Q1")
    page.fill("#id_title", "First quarter 2027")
    page.fill("#id_deadline", deadline)
    page.check("#id_all_teams")
    page.click("button[data-launch]")
    page.wait_for_load_state("networkidle")
    assert "2027-Q1 launched: 2 drafts created." in page.content()
    assert page.locator("tr[data-team='fraud'] td").nth(2).inner_text() == "1"  # one draft in the team
    watch.assert_clean()
    officer.close()

    # The lead is told (campaign.started, through actions/events.py into the notifications outbox): an
    # unread notification in the portal and an e-mail queued, and the draft waits in "my work".
    started = AuditEvent.objects.get(action="event.campaign.started", changes__after__team="fraud")
    assert started.changes["after"]["recipients"] == [org.lead.pk]
    notice = Notification.objects.get(recipient=org.lead, dispatch__event="campaign.started")
    assert OutboxMessage.objects.filter(dispatch=notice.dispatch, recipient=org.lead).exists()
    draft = Assessment.objects.get(project=org.project, cycle="2027-Q1")

    lead = browser.new_context(viewport={"width": 1440, "height": 900})
    watch = PageWatch(lead.new_page())
    page = watch.page
    sign_in(page, live_server.url, "lead", PASSWORD)
    badge = page.locator("nav a[href='/notifications/'] .badge")
    assert badge.inner_text() == "1"  # the unread badge in the navigation
    page.click("nav a[href='/notifications/']")
    row = page.locator("tr.unread", has_text="2027-Q1")
    assert row.count() == 1
    row.locator("button[name=open]").click()  # marks it read and follows its link
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(started.changes["after"]["path"])
    notice.refresh_from_db()
    assert notice.read_at is not None
    page.click(f"tr[data-assessment='{draft.pk}'] a")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/assessments/{draft.pk}/")
    # Pre-filled from the last approved answers: the lead only confirms and submits.
    assert page.locator("#practice-MLS-03 input[type=radio][value='3']").is_checked()
    page.locator("button[name=submit]").first.click()
    page.wait_for_load_state("networkidle")
    assert "Submitted for review." in page.content()
    draft.refresh_from_db()
    assert draft.status == AssessmentStatus.SUBMITTED and draft.submitted_by == org.lead
    watch.assert_clean()
    lead.close()
