"""Forms of the framework pages: the scope filter and a project's EU AI Act classification."""

from __future__ import annotations

from django import forms

from assessments.choices import AiActRiskClass, AiActRole


class ScopeFilterForm(forms.Form):
    team = forms.ChoiceField(required=False, label="Team")
    as_of = forms.DateField(required=False, label="As of", widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="Empty: now. A past day reads that day's scores.")

    def __init__(self, *args, teams, everyone_label: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", everyone_label), *[(t.slug, t.name) for t in teams]]


class AiActClassificationForm(forms.Form):
    ai_act_role = forms.ChoiceField(label="Role under the EU AI Act", choices=[("", "Not classified"), *AiActRole.choices],
                                    required=False)
    ai_act_risk_class = forms.ChoiceField(label="Risk class", required=False,
                                          choices=[("", "Not classified"), *AiActRiskClass.choices])
