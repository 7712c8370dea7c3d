"""Forms for the pages; the rules themselves live in the models' validators and the services."""

from __future__ import annotations

import copy

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from accounts.models import Team
from controls.models import Practice

from .models import ANSWER_FIELDS, Answer, Project
from .validators import answer_is_answered, validate_answer_applicability

LEVEL_CHOICES = [("", "—"), *[(str(i), str(i)) for i in range(5)]]


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class ProjectForm(forms.ModelForm):
    """A project's own fields as the model declares them (labels, help text, choices, lengths, validators),
    then its check targets, one per line, gathered into `Project.check_targets` and validated by the model
    (`validate_check_targets`, and the team's check directories in `Project.clean`) before the service
    validates them again."""

    source_path = forms.CharField(required=False, max_length=1024, label="Source tree",
                                  help_text="Absolute path on the check workers inside your team's check directory, "
                                            "e.g. /srv/check-targets/fraud/fraud-model")
    dependency_files = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                       help_text="One requirements or lock file per line.")
    model_artifacts = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                      help_text="One path or glob per line, inside your team's check directory, "
                                                "e.g. /srv/check-targets/fraud/models/*.pt")
    datasets = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                               help_text="One path or glob per line (CSV, JSON lines, Parquet).")
    endpoint_url = forms.CharField(required=False, max_length=2048, label="Serving endpoint URL")

    class Meta:
        model = Project
        fields = ["name", "slug", "description", "risk_tier", "lifecycle", "data_classification"]

    def __init__(self, *args, project: Project | None = None, team: Team | None = None, **kwargs):
        if project is not None:
            # A copy: validating the form must not change the project the service compares its audit with.
            kwargs.setdefault("instance", copy.copy(project))
            if "initial" not in kwargs:
                targets = project.check_targets or {}
                kwargs["initial"] = {
                    "source_path": targets.get("source_path", ""), "endpoint_url": targets.get("endpoint_url", ""),
                    "dependency_files": "\n".join(targets.get("dependency_files", [])),
                    "model_artifacts": "\n".join(targets.get("model_artifacts", [])),
                    "datasets": "\n".join(targets.get("datasets", [])),
                }
        elif team is not None:
            kwargs.setdefault("instance", Project(team=team))
        new = "instance" not in kwargs or kwargs["instance"].pk is None
        super().__init__(*args, **kwargs)
        if project is not None:
            self.fields["slug"].disabled = True
        if new and "initial" not in kwargs:
            # The page has always offered the first choice of each list, not the model's defaults (the API's).
            for name in ("risk_tier", "lifecycle", "data_classification"):
                self.initial.pop(name, None)
                self.fields[name].initial = None

    def clean(self):
        data = super().clean()
        self.instance.check_targets = self._check_targets()
        return data

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        exclude.discard("check_targets")  # gathered from the target fields: the model validates it too
        return exclude

    def _update_errors(self, errors):
        # The model's errors on `check_targets` (a field the page spreads over several) go on the form.
        if hasattr(errors, "error_dict") and "check_targets" in errors.error_dict:
            errors.error_dict.setdefault(NON_FIELD_ERRORS, []).extend(errors.error_dict.pop("check_targets"))
        super()._update_errors(errors)

    def _check_targets(self) -> dict:
        data = self.cleaned_data
        targets = {
            "source_path": data.get("source_path", "").strip(), "endpoint_url": data.get("endpoint_url", "").strip(),
            "dependency_files": _lines(data.get("dependency_files", "")),
            "model_artifacts": _lines(data.get("model_artifacts", "")), "datasets": _lines(data.get("datasets", "")),
        }
        return {k: v for k, v in targets.items() if v}

    def service_fields(self) -> dict:
        return {**{name: self.cleaned_data[name] for name in self._meta.fields}, "check_targets": self._check_targets()}


class AnswerForm(forms.Form):
    """One practice in the assessment form; prefixed with the practice code."""

    level = forms.TypedChoiceField(choices=LEVEL_CHOICES[1:], coerce=int, required=False, empty_value=None,
                                   widget=forms.RadioSelect)
    not_applicable = forms.BooleanField(required=False, label="Not applicable")
    justification = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))
    notes = forms.CharField(required=False, max_length=8000, widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.CharField(required=False, max_length=120)
    target_level = forms.TypedChoiceField(choices=LEVEL_CHOICES, coerce=int, required=False, empty_value=None)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    FIELDS = ANSWER_FIELDS

    def __init__(self, *args, answer: Answer, **kwargs):
        self.answer = answer
        kwargs.setdefault("prefix", answer.practice.code)
        kwargs.setdefault("initial", {name: getattr(answer, name) for name in self.FIELDS})
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        try:
            validate_answer_applicability(not_applicable=data.get("not_applicable"), level=data.get("level"),
                                          justification=data.get("justification"))
        except ValidationError as exc:
            self.add_error(None, exc)
        return data

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.FIELDS if self.cleaned_data[name] != getattr(self.answer, name)}

    def is_answered(self) -> bool:
        """As the form shows it: the values typed in (bound) or the stored answer."""
        return answer_is_answered(not_applicable=self["not_applicable"].value(), level=self["level"].value(),
                                  justification=self["justification"].value())

    def level_rows(self) -> list[dict]:
        """The practice's rubric as the form shows it: each level as text, whether it is the chosen level
        and the chosen target (the values typed in, or the stored answer). Worked out here once, not by
        the template for each of 25 practices × 5 levels × 2 controls."""
        level, target = str(self["level"].value()), str(self["target_level"].value())
        return [{"value": str(row["level"]), "summary": row["summary"], "checked": str(row["level"]) == level,
                 "selected": str(row["level"]) == target} for row in self.answer.practice.levels]

    def error_summary(self) -> str:
        """Every message of this practice's form as one sentence, for the banner."""
        return " ".join(str(message) for messages in self.errors.values() for message in messages)


class ReturnForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000,
                              help_text="Tell the team what to change before it can be approved.")


class ApproveForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False)


class StartAssessmentForm(forms.Form):
    cycle = forms.CharField(max_length=10, help_text="e.g. 2026-Q4")
    copy_previous = forms.BooleanField(required=False, initial=True, label="Start from the last approved answers")


class AcceptanceForm(forms.Form):
    practice = forms.ModelChoiceField(queryset=Practice.objects.active().order_by("number"), to_field_name="code")
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000,
                                    help_text="Why the gap is acceptable for now, and what compensates for it.")
    expires_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="At most a year from today.")


class DecisionForm(forms.Form):
    status = forms.ChoiceField(choices=[("approved", "Approve"), ("rejected", "Reject")])
    note = forms.CharField(required=False, max_length=4000)
