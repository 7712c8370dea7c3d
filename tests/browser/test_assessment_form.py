"""A lead signs in, fills a practice in the assessment form and saves it, in a real browser."""

import pytest

from accounts.tests.factories import PASSWORD
from assessments.tests.factories import make_assessment

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_lead_fills_a_practice_and_saves_the_draft(live_server, watched_page, org):
    assessment = make_assessment(org.project)
    page = watched_page.page
    sign_in(page, live_server.url, "lead", PASSWORD)
    page.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    practice = page.locator("#practice-MLS-03")
    practice.locator("input[type=radio][value='3']").check()
    practice.locator("textarea[name='MLS-03-notes']").fill("Dependabot weekly; hashed lock files for training images.")
    practice.locator("input[name='MLS-03-owner']").fill("member")
    assert page.locator("#answered-count").inner_text() == "1"  # the progress indicator follows the form
    page.click("button[name=save]")
    page.wait_for_load_state("networkidle")
    assert "Draft saved." in page.content()
    answer = assessment.answers.get(practice__code="MLS-03")
    assert (answer.level, answer.owner) == (3, "member")
    assert page.locator("#practice-MLS-03 input[type=radio][value='3']").is_checked()
    watched_page.assert_clean()


def test_one_invalid_answer_never_loses_the_four_valid_ones(live_server, watched_page, org):
    """Done when (issue 11): a lead fills 5 practices, one N/A without justification, and saves."""
    assessment = make_assessment(org.project)
    page = watched_page.page
    sign_in(page, live_server.url, "lead", PASSWORD)
    url = f"{live_server.url}/assessments/{assessment.pk}/"
    page.goto(url)
    for code, level in (("MLS-01", "3"), ("MLS-02", "2"), ("MLS-03", "4"), ("MLS-04", "1")):
        page.locator(f"#practice-{code} input[type=radio][value='{level}']").check()
    page.locator("#practice-MLS-04 textarea[name='MLS-04-notes']").fill("Quarterly access review since March.")
    practice = page.locator("#practice-MLS-05")
    practice.locator(".na-toggle").check()
    practice.locator("textarea[name='MLS-05-notes']").fill("Batch scoring only.")
    page.locator("button[name=save]").first.click()
    page.wait_for_load_state("networkidle")

    stored = dict(assessment.answers.filter(level__isnull=False).values_list("practice__code", "level"))
    assert stored == {"MLS-01": 3, "MLS-02": 2, "MLS-03": 4, "MLS-04": 1}
    banner = page.locator("#attention")
    assert "4 answers saved." in banner.inner_text()
    assert banner.locator("a[href='#practice-MLS-05']").inner_text().startswith("MLS-05")
    focused = page.evaluate("document.activeElement && document.activeElement.name")
    assert focused == "MLS-05-justification"  # the invalid practice is focused, on the field to fix
    assert page.locator("textarea[name='MLS-05-notes']").input_value() == "Batch scoring only."
    assert page.locator("#practice-MLS-05 .na-toggle").is_checked()

    # Leaving now would lose the N/A answer and its note: the page asks first.
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.locator("#practice-MLS-05 textarea[name='MLS-05-justification']").click()
    page.close(run_before_unload=True)
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]
    assert not page.is_closed()

    fresh = page.context.new_page()
    fresh.goto(url)
    for code, level in (("MLS-01", "3"), ("MLS-02", "2"), ("MLS-03", "4"), ("MLS-04", "1")):
        assert fresh.locator(f"#practice-{code} input[type=radio][value='{level}']").is_checked()
    assert fresh.locator("textarea[name='MLS-04-notes']").input_value() == "Quarterly access review since March."
    assert not fresh.locator("#practice-MLS-05 .na-toggle").is_checked()
    assert fresh.locator("#answered-count").inner_text() == "4"
    watched_page.assert_clean()


def test_not_applicable_clears_the_level_in_the_browser(live_server, watched_page, org):
    assessment = make_assessment(org.project, levels={"MLS-14": 1})
    page = watched_page.page
    sign_in(page, live_server.url, "member", PASSWORD)
    page.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    practice = page.locator("#practice-MLS-14")
    practice.locator(".na-toggle").check()
    assert not practice.locator("input[type=radio][value='1']").is_checked()
    practice.locator("textarea[name='MLS-14-justification']").fill("All data is pooled in one governed warehouse.")
    page.click("button[name=save]")
    page.wait_for_load_state("networkidle")
    answer = assessment.answers.get(practice__code="MLS-14")
    assert answer.not_applicable and answer.level is None
    watched_page.assert_clean()


def test_a_lead_submits_and_an_officer_returns_then_approves_in_the_browser(live_server, browser, org):
    from assessments.choices import AssessmentStatus

    assessment = make_assessment(org.project, levels={f"MLS-{n:02d}": 2 for n in range(1, 25)})
    lead_context = browser.new_context(viewport={"width": 1440, "height": 900})
    lead = lead_context.new_page()
    sign_in(lead, live_server.url, "lead", PASSWORD)
    lead.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    lead.locator("#practice-MLS-25 input[type=radio][value='1']").check()
    lead.locator("button[name=submit]").first.click()
    lead.wait_for_load_state("networkidle")
    assert "Submitted for review" in lead.content()
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SUBMITTED

    officer_context = browser.new_context(viewport={"width": 1440, "height": 900})
    officer = officer_context.new_page()
    sign_in(officer, live_server.url, "officer", PASSWORD)
    officer.goto(f"{live_server.url}/review-queue/")
    officer.click(f"a[href='/assessments/{assessment.pk}/']")
    officer.fill("#return-comment", "Attach the penetration test report for MLS-08.")
    officer.click("button:has-text('Return with comment')")
    officer.wait_for_load_state("networkidle")
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.RETURNED

    lead.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    assert "Attach the penetration test report for MLS-08." in lead.content()
    lead.locator("#practice-MLS-08 input[type=radio][value='3']").check()
    lead.locator("button[name=submit]").first.click()
    lead.wait_for_load_state("networkidle")

    officer.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    officer.click("button:has-text('Approve')")
    officer.wait_for_load_state("networkidle")
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.APPROVED and assessment.reviewed_by == org.officer
    lead_context.close()
    officer_context.close()


def test_the_review_page_shows_every_practice_within_a_few_screens(live_server, watched_page, org):
    from assessments.choices import AssessmentStatus

    make_assessment(org.project, cycle="2026-Q3", levels=1, status=AssessmentStatus.APPROVED)
    submitted = make_assessment(org.project, levels=2, status=AssessmentStatus.SUBMITTED)
    page = watched_page.page
    sign_in(page, live_server.url, "officer", PASSWORD)
    page.goto(f"{live_server.url}/assessments/{submitted.pk}/")
    assert page.locator("tr[id^='practice-MLS-']").count() == 25
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 3600, f"the review page is {height} px tall"
    approve = page.locator("button:has-text('Approve')").bounding_box()
    assert approve["y"] < 900  # the decision is on the first screen
    watched_page.assert_clean()
