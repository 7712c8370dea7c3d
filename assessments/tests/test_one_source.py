"""Fields and rules declared once: the page, the API and the service read the same definition, so they can
only refuse alike (issue 13, "one source for fields and rules")."""

import inspect
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from assessments import forms, services, validators
from assessments.api import serializers
from assessments.models import ANSWER_FIELDS, Answer, Project
from assessments.tests.factories import make_assessment

ROOT = Path(__file__).resolve().parents[2]
from tests.project_files import project_files  # noqa: E402

NA_CASES = [
    # (the answer as typed, the field refused, its message)
    ({"not_applicable": True, "justification": ""}, "justification", validators.NA_WITHOUT_JUSTIFICATION),
    ({"not_applicable": True, "justification": "Batch only.", "level": 2}, "level", validators.NA_WITH_LEVEL),
]


def _errors_of_page(web, assessment, values) -> dict:
    code = "MLS-05"
    data = {f"{code}-{k}": ("on" if v is True else str(v)) for k, v in values.items()}
    response = web.post(f"/assessments/{assessment.pk}/", {**data, "save": ""})
    assert response.status_code == 200
    form = next(f for group in response.context["groups"].values() for f in group if f.answer.practice.code == code)
    return {field: list(messages) for field, messages in form.errors.items()}


@pytest.mark.parametrize(("values", "field", "message"), NA_CASES)
def test_the_not_applicable_rule_refuses_alike_on_the_page_the_api_and_the_service(client, api, org, values, field,
                                                                                    message):
    assessment = make_assessment(org.project)
    client.force_login(org.lead)
    page = _errors_of_page(client, assessment, values)

    response = api(org.lead).patch(f"/api/v1/assessments/{assessment.pk}/answers/MLS-05/", values, format="json")
    assert response.status_code == 400

    answer = assessment.answers.get(practice__code="MLS-05")
    with pytest.raises(ValidationError) as refused:
        services.answer_update(actor=org.lead, answer=answer, **values)

    assert page[field] == [message]
    assert response.json()[field] == [message]
    assert refused.value.message_dict[field] == [message]
    assert not Answer.objects.get(pk=answer.pk).not_applicable


def test_the_not_applicable_rule_is_written_once():
    """Its messages appear in one module; the form, the serializer and the model call its one function."""
    hits = [path.relative_to(ROOT) for path in project_files("*.py")
            if ".venv" not in path.parts and "tests" not in path.parts
            and any(m in path.read_text(encoding="utf-8") for m in ("Not applicable needs", "or not applicable, not"))]
    assert hits == [Path("assessments/validators.py")]
    for reader in (forms.AnswerForm.clean, serializers.AnswerSerializer.validate, Answer.clean):
        assert "validate_answer_applicability(" in inspect.getsource(reader)


def test_the_answer_fields_are_one_list():
    assert forms.AnswerForm.FIELDS is ANSWER_FIELDS and services.ANSWER_FIELDS is ANSWER_FIELDS
    assert set(serializers.ANSWER_DEFAULTS) == set(ANSWER_FIELDS)
    assert set(ANSWER_FIELDS) <= set(serializers.AnswerSerializer.Meta.fields)
    assert not re.search(r'\(\s*"level", "not_applicable"', inspect.getsource(services))


def test_the_project_form_reads_its_fields_from_the_model():
    form = forms.ProjectForm()
    for name in forms.ProjectForm.Meta.fields:
        model_field = Project._meta.get_field(name)
        assert name not in forms.ProjectForm.declared_fields, f"{name} is declared on the form again"
        assert str(form.fields[name].help_text) == str(model_field.help_text)
    assert form.fields["slug"].help_text == "Short address, lower-case letters, digits and hyphens."


def test_validating_the_edit_form_leaves_the_project_as_it_was(org):
    project = org.project
    form = forms.ProjectForm({"name": "Renamed", "risk_tier": "critical", "lifecycle": project.lifecycle,
                              "data_classification": project.data_classification}, project=project)
    assert form.is_valid(), form.errors
    assert (project.name, project.risk_tier) != ("Renamed", "critical")
    assert form.service_fields()["risk_tier"] == "critical"


def test_the_new_project_form_shows_what_it_always_showed():
    """Labels and help text from the model; no choice preselected (the page never offered the API's defaults)."""
    form = forms.ProjectForm()
    assert [form[name].label for name in ("name", "risk_tier", "source_path", "endpoint_url")] == [
        "Name", "Risk tier", "Source tree", "Serving endpoint URL"]
    assert list(form.fields)[:6] == forms.ProjectForm.Meta.fields
    for name in ("risk_tier", "lifecycle", "data_classification"):
        assert "selected" not in str(form[name])
