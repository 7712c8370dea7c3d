"""Forms for the pages; the rules themselves live in the models' validators and the services."""

from __future__ import annotations

from django import forms

from controls.models import Practice

from .choices import DataClassification, Lifecycle, RiskTier
from .models import Answer, Project

LEVEL_CHOICES = [("", "—"), *[(str(i), str(i)) for i in range(5)]]


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.SlugField(max_length=64, help_text="Short address, lower-case letters, digits and hyphens.")
    description = forms.CharField(required=False, widget=forms.Textarea, max_length=4000)
    risk_tier = forms.ChoiceField(choices=RiskTier.choices, help_text="Weighs the project in its team's score (low 1 … critical 4).")
    lifecycle = forms.ChoiceField(choices=Lifecycle.choices)
    data_classification = forms.ChoiceField(choices=DataClassification.choices)
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

    def __init__(self, *args, project: Project | None = None, **kwargs):
        if project is not None and "initial" not in kwargs:
            targets = project.check_targets or {}
            kwargs["initial"] = {
                "name": project.name, "slug": project.slug, "description": project.description,
                "risk_tier": project.risk_tier, "lifecycle": project.lifecycle,
                "data_classification": project.data_classification,
                "source_path": targets.get("source_path", ""), "endpoint_url": targets.get("endpoint_url", ""),
                "dependency_files": "\n".join(targets.get("dependency_files", [])),
                "model_artifacts": "\n".join(targets.get("model_artifacts", [])),
                "datasets": "\n".join(targets.get("datasets", [])),
            }
        super().__init__(*args, **kwargs)
        if project is not None:
            self.fields["slug"].disabled = True

    def service_fields(self) -> dict:
        data = self.cleaned_data
        targets = {
            "source_path": data["source_path"].strip(), "endpoint_url": data["endpoint_url"].strip(),
            "dependency_files": _lines(data["dependency_files"]), "model_artifacts": _lines(data["model_artifacts"]),
            "datasets": _lines(data["datasets"]),
        }
        return {
            "name": data["name"], "slug": data["slug"], "description": data["description"],
            "risk_tier": data["risk_tier"], "lifecycle": data["lifecycle"],
            "data_classification": data["data_classification"],
            "check_targets": {k: v for k, v in targets.items() if v},
        }


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

    FIELDS = ("level", "not_applicable", "justification", "notes", "owner", "target_level", "due_date")

    def __init__(self, *args, answer: Answer, **kwargs):
        self.answer = answer
        kwargs.setdefault("prefix", answer.practice.code)
        kwargs.setdefault("initial", {name: getattr(answer, name) for name in self.FIELDS})
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("not_applicable"):
            if data.get("level") is not None:
                self.add_error("level", "Choose a level or not applicable, not both.")
            if not (data.get("justification") or "").strip():
                self.add_error("justification", "Not applicable needs a justification.")
        return data

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.FIELDS if self.cleaned_data[name] != getattr(self.answer, name)}

    def is_answered(self) -> bool:
        """As the form shows it: the values typed in (bound) or the stored answer."""
        if self["not_applicable"].value():
            return bool((self["justification"].value() or "").strip())
        return self["level"].value() not in (None, "")

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
