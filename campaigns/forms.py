from django import forms

from accounts.models import Team


class LaunchForm(forms.Form):
    cycle = forms.CharField(max_length=10, help_text="e.g. 2027-Q1")
    title = forms.CharField(max_length=200, required=False)
    deadline = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    all_teams = forms.BooleanField(required=False, initial=True, label="Every team")
    teams = forms.ModelMultipleChoiceField(queryset=Team.objects.order_by("name"), required=False,
                                           to_field_name="slug", widget=forms.CheckboxSelectMultiple,
                                           help_text="Or choose the teams (leave “Every team” unticked).")

    def chosen_teams(self):
        return None if self.cleaned_data["all_teams"] else list(self.cleaned_data["teams"])
