"""The assessment form never loses work, and answers that cannot be true are refused with a reason."""

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from assessments import services
from assessments.choices import AssessmentStatus
from assessments.tests.factories import make_assessment
from audit.models import AuditEvent

FIVE = {"MLS-01-level": "3", "MLS-02-level": "2", "MLS-03-level": "4", "MLS-04-level": "1",
        "MLS-05-not_applicable": "on", "MLS-05-justification": "", "MLS-05-notes": "Only batch scoring, no serving.",
        "MLS-05-owner": "member", "save": ""}


def _attention(content: str) -> str:
    match = re.search(r'<div class="attention card" role="alert" id="attention".*?</div>', content, re.S)
    assert match, "no attention banner"
    return match.group(0)


def test_save_draft_stores_the_valid_answers_when_another_is_invalid(web, org):
    assessment = make_assessment(org.project)
    response = web(org.lead).post(f"/assessments/{assessment.pk}/", FIVE)
    assert response.status_code == 200
    levels = dict(assessment.answers.filter(level__isnull=False).values_list("practice__code", "level"))
    assert levels == {"MLS-01": 3, "MLS-02": 2, "MLS-03": 4, "MLS-04": 1}
    refused = assessment.answers.get(practice__code="MLS-05")
    assert not refused.not_applicable and refused.notes == "" and refused.owner == ""
    assert AuditEvent.objects.filter(action="answer.update").count() == 4


def test_the_banner_names_each_practice_needing_attention_as_a_link_to_it(web, org):
    assessment = make_assessment(org.project)
    banner = _attention(web(org.lead).post(f"/assessments/{assessment.pk}/", FIVE).content.decode())
    assert "4 answers saved." in banner and "1 practice needs attention" in banner
    assert '<a href="#practice-MLS-05" data-focus-practice="MLS-05">MLS-05' in banner
    assert "Not applicable needs a justification." in banner
    assert "MLS-01" not in banner


def test_the_form_keeps_every_entered_value_after_a_partial_save(web, org):
    assessment = make_assessment(org.project)
    content = web(org.lead).post(f"/assessments/{assessment.pk}/", FIVE).content.decode()
    assert re.search(r'name="MLS-05-not_applicable" class="na-toggle" checked', content)
    assert "Only batch scoring, no serving.</textarea>" in content
    assert 'name="MLS-05-owner" id="id_MLS-05-owner" value="member"' in content
    assert re.search(r'name="MLS-05-justification" id="id_MLS-05-justification" rows="2" aria-invalid="true"', content)
    assert re.search(r'name="MLS-03-level" value="4" checked', content)
    assert '<span id="answered-count">4</span>' in content  # the invalid N/A does not count as answered


def test_the_leave_page_warning_stays_armed_while_values_are_unsaved(web, org):
    assessment = make_assessment(org.project)
    client = web(org.lead)
    content = client.post(f"/assessments/{assessment.pk}/", FIVE).content.decode()
    assert '<form method="post" id="assessment-form" novalidate data-unsaved="true">' in content
    fixed = {**FIVE, "MLS-05-justification": "Batch only: predictions never leave the warehouse."}
    response = client.post(f"/assessments/{assessment.pk}/", fixed, follow=True)
    assert b"Draft saved." in response.content and b'data-unsaved="true"' not in response.content


def test_submit_with_an_invalid_answer_saves_the_valid_ones_and_does_not_submit(web, org):
    assessment = make_assessment(org.project, levels={f"MLS-{n:02d}": 2 for n in range(1, 25)})
    response = web(org.lead).post(f"/assessments/{assessment.pk}/", {
        **{f"MLS-{n:02d}-level": "2" for n in range(1, 24)}, "MLS-24-level": "3",
        "MLS-25-not_applicable": "on", "submit": "1"})
    assert response.status_code == 200
    assert "MLS-25" in _attention(response.content.decode())
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.DRAFT
    assert assessment.answers.get(practice__code="MLS-24").level == 3


# --- target level and due date -------------------------------------------------------------------

def test_a_target_level_below_the_current_level_is_refused_and_changes_nothing(org):
    assessment = make_assessment(org.project)
    answer = assessment.answers.get(practice__code="MLS-07")
    with pytest.raises(ValidationError) as exc:
        services.answer_update(actor=org.lead, answer=answer, level=3, target_level=2)
    assert exc.value.message_dict == {"target_level": ["The target level cannot be below the current level (3)."]}
    assert (answer.level, answer.target_level) == (None, None)  # the object is left as it was, too
    answer.refresh_from_db()
    assert (answer.level, answer.target_level) == (None, None)


def test_a_target_level_equal_to_or_above_the_current_level_is_accepted(org):
    assessment = make_assessment(org.project)
    answer = assessment.answers.get(practice__code="MLS-07")
    services.answer_update(actor=org.lead, answer=answer, level=3, target_level=3)
    services.answer_update(actor=org.lead, answer=answer, target_level=4)
    answer.refresh_from_db()
    assert (answer.level, answer.target_level) == (3, 4)


def test_raising_the_level_above_a_stored_target_is_refused(org):
    assessment = make_assessment(org.project)
    answer = assessment.answers.get(practice__code="MLS-07")
    services.answer_update(actor=org.lead, answer=answer, level=1, target_level=2)
    with pytest.raises(ValidationError, match="cannot be below the current level"):
        services.answer_update(actor=org.lead, answer=answer, level=3)


def test_a_due_date_in_the_past_is_refused_for_a_new_answer(org):
    assessment = make_assessment(org.project)
    answer = assessment.answers.get(practice__code="MLS-07")
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as exc:
        services.answer_update(actor=org.lead, answer=answer, level=1, target_level=3, due_date=yesterday)
    assert exc.value.message_dict == {"due_date": ["The due date is in the past: choose today or a later day."]}
    services.answer_update(actor=org.lead, answer=answer, level=1, target_level=3, due_date=timezone.localdate())


def test_a_due_date_carried_over_from_the_last_cycle_may_stay_while_other_fields_change(org):
    assessment = make_assessment(org.project)
    answer = assessment.answers.get(practice__code="MLS-07")
    passed = timezone.localdate() - dt.timedelta(days=20)
    type(answer).objects.filter(pk=answer.pk).update(level=1, target_level=3, due_date=passed)
    answer.refresh_from_db()
    services.answer_update(actor=org.lead, answer=answer, notes="Still on it.", owner="member")
    answer.refresh_from_db()
    assert answer.due_date == passed and answer.notes == "Still on it."


def test_the_api_answers_400_for_a_target_below_the_level_and_a_past_due_date(org, api):
    assessment = make_assessment(org.project)
    url = f"/api/v1/assessments/{assessment.pk}/answers/MLS-07/"
    client = api(org.lead)
    response = client.patch(url, {"level": 3, "target_level": 1}, format="json")
    assert response.status_code == 400 and response.json() == {
        "target_level": ["The target level cannot be below the current level (3)."]}
    past = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    response = client.put(url, {"level": 1, "target_level": 2, "due_date": past}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["due_date"]
    answer = assessment.answers.get(practice__code="MLS-07")
    assert (answer.level, answer.target_level, answer.due_date) == (None, None, None)


def test_the_form_shows_the_target_and_due_date_errors_on_their_practice(web, org):
    assessment = make_assessment(org.project)
    past = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    response = web(org.lead).post(f"/assessments/{assessment.pk}/", {
        "MLS-07-level": "3", "MLS-07-target_level": "1", "MLS-08-level": "1", "MLS-08-due_date": past,
        "MLS-09-level": "2", "save": ""})
    content = response.content.decode()
    banner = _attention(content)
    assert "MLS-07" in banner and "MLS-08" in banner and "2 practices need attention" in banner
    assert re.search(r'name="MLS-07-target_level" id="id_MLS-07-target_level" aria-invalid="true"', content)
    assert "The due date is in the past" in content
    assert assessment.answers.get(practice__code="MLS-09").level == 2
    assert assessment.answers.get(practice__code="MLS-07").level is None


def test_the_owner_is_a_user_of_the_team_and_a_stranger_is_refused(org):
    assessment = make_assessment(org.project)
    answer = assessment.answers.get(practice__code="MLS-07")
    services.answer_update(actor=org.lead, answer=answer, owner="MEMBER")
    answer.refresh_from_db()
    assert (answer.owner, answer.owner_user) == ("member", org.member)
    with pytest.raises(ValidationError) as exc:
        services.answer_update(actor=org.lead, answer=answer, owner="other-lead")
    assert "member of the team (lead, member)" in str(exc.value)
    answer.refresh_from_db()
    assert answer.owner_user == org.member
    services.answer_update(actor=org.lead, answer=answer, owner="")
    answer.refresh_from_db()
    assert answer.owner_user is None


def test_an_owner_name_carried_over_from_before_owners_were_users_stays_as_a_label(org):
    assessment = make_assessment(org.project)
    answer = assessment.answers.get(practice__code="MLS-07")
    type(answer).objects.filter(pk=answer.pk).update(owner="Platform security")
    answer.refresh_from_db()
    services.answer_update(actor=org.lead, answer=answer, notes="n")
    answer.refresh_from_db()
    assert (answer.owner, answer.owner_user, answer.notes) == ("Platform security", None, "n")


def test_the_api_refuses_an_owner_outside_the_team_with_400(org, api):
    assessment = make_assessment(org.project)
    response = api(org.member).patch(f"/api/v1/assessments/{assessment.pk}/answers/MLS-07/", {"owner": "auditor"},
                                     format="json")
    assert response.status_code == 400 and "owner" in response.json()
    ok = api(org.member).patch(f"/api/v1/assessments/{assessment.pk}/answers/MLS-07/", {"owner": "lead"}, format="json")
    assert ok.json()["owner_user"] == org.lead.pk


def test_the_stored_level_and_target_are_the_ones_marked_and_no_error_list_is_drawn(web, org):
    assessment = make_assessment(org.project, levels={"MLS-02": 2})
    assessment.answers.filter(practice__code="MLS-02").update(target_level=4)
    content = web(org.lead).get(f"/assessments/{assessment.pk}/").content.decode()
    article = re.search(r'<article class="practice" id="practice-MLS-02".*?</article>', content, re.S).group(0)
    assert re.findall(r'name="MLS-02-level" value="(\d)" checked', article) == ["2"]
    assert re.findall(r'<option value="(\d)" selected>', article) == ["4"]
    assert len(re.findall(r'name="MLS-02-level" value="\d"', article)) == 5  # every rubric level is offered
    blank = re.search(r'<article class="practice" id="practice-MLS-01".*?</article>', content, re.S).group(0)
    assert " checked" not in blank and " selected" not in blank
    assert "errorlist" not in content


def test_a_level_outside_the_rubric_is_refused_on_its_field_and_the_rest_is_kept(web, org):
    assessment = make_assessment(org.project)
    content = web(org.lead).post(f"/assessments/{assessment.pk}/", {
        "MLS-01-level": "9", "MLS-01-notes": "kept", "MLS-02-level": "3", "save": ""}).content.decode()
    article = re.search(r'<article class="practice has-error" id="practice-MLS-01".*?</article>', content, re.S).group(0)
    assert 'class="errorlist' in article and "Select a valid choice" in article
    assert 'aria-invalid="true"' in article and " checked" not in article and "kept</textarea>" in article
    assert assessment.answers.get(practice__code="MLS-02").level == 3


def test_rubric_text_with_markup_is_shown_as_typed_in_the_form(web, org):
    """A rubric edited in the catalogue is text on the form, never markup (the level labels and summaries)."""
    assessment = make_assessment(org.project)
    answer = assessment.answers.select_related("practice").get(practice__code="MLS-03")
    practice = answer.practice
    practice.levels = [{**row, "summary": f'<img src=x onerror="alert({row["level"]})"> & level'}
                       for row in practice.levels]
    practice.save(update_fields=["levels"])
    content = web(org.lead).get(f"/assessments/{assessment.pk}/").content.decode()
    article = re.search(r'<article class="practice" id="practice-MLS-03".*?</article>', content, re.S).group(0)
    assert "<img" not in article
    assert article.count("&lt;img src=x onerror=&quot;alert(") == 5 and "&amp; level" in article
