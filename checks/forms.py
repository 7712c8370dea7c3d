from django import forms

from accounts.models import Team

from .choices import AllowanceKind


class ScanAllowanceForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    kind = forms.ChoiceField(choices=AllowanceKind.choices, initial=AllowanceKind.PICKLE_GLOBAL)
    name = forms.CharField(max_length=200, help_text="module.name as the pickle imports it, or an ONNX domain")
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="What the review found: what the name does when a pickle calls it.")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.visible_to(user).order_by("name")
