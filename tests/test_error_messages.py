"""A refusal reaches the person as readable sentences, on the page and in the form, never letter by letter."""

import datetime as dt

from django import forms
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.utils import timezone

from assessments.models import RiskAcceptance
from controls.models import Practice
from mlsec_portal.api import error_text, errors_to_form


class TitleForm(forms.Form):
    title = forms.CharField(required=False)


def test_error_text_joins_messages_of_either_shape():
    assert error_text(ValidationError("Already decided.")) == "Already decided."
    assert error_text(ValidationError(["One.", "Two."])) == "One. Two."
    assert error_text(ValidationError({"title": ["Too long."], "url": ["Not a URL."]})) == "Too long. Not a URL."


def test_errors_to_form_puts_field_errors_on_fields_and_the_rest_on_the_form():
    form = TitleForm({})
    assert form.is_valid()
    errors_to_form(form, ValidationError({"title": ["Too long."], "elsewhere": ["Out of scope."]}))
    assert form.errors == {"title": ["Too long."], "__all__": ["Out of scope."]}
    form = TitleForm({})
    assert form.is_valid()
    errors_to_form(form, ValidationError("Only drafts change."))
    assert form.non_field_errors() == ["Only drafts change."]


def test_deciding_a_decided_acceptance_says_so_in_one_sentence(org, client):
    acceptance = RiskAcceptance.objects.create(
        project=org.project, practice=Practice.objects.get(code="MLS-15"), proposed_by=org.lead,
        justification="Flow logs arrive with the migration next quarter.", status="approved",
        expires_on=timezone.localdate() + dt.timedelta(days=60))
    client.force_login(org.officer)
    response = client.post(f"/risk-acceptances/{acceptance.pk}/decide/", {"status": "rejected"})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["This risk acceptance was already approved."]
    acceptance.refresh_from_db()
    assert acceptance.status == "approved"
