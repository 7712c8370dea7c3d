from django import forms

from accounts.models import User

from .choices import SETTABLE_STATUSES


class ActionForm(forms.Form):
    """What a lead or officer may change on an action; `status` alone for its owner."""

    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="nobody")
    due_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(choices=[(s.value, s.label) for s in SETTABLE_STATUSES])

    def __init__(self, *args, action, managing: bool, **kwargs):
        kwargs.setdefault("initial", {"owner": action.owner_id, "due_on": action.due_on, "status": action.status})
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(memberships__team_id=action.project.team_id,
                                                            is_active=True).order_by("username")
        if not managing:
            del self.fields["owner"]
            del self.fields["due_on"]

    def changes(self, action) -> dict:
        data, changed = self.cleaned_data, {}
        if "owner" in data and (data["owner"].pk if data["owner"] else None) != action.owner_id:
            changed["owner"] = data["owner"].pk if data["owner"] else None
        if "due_on" in data and data["due_on"] != action.due_on:
            changed["due_on"] = data["due_on"]
        if data["status"] != action.status:
            changed["status"] = data["status"]
        return changed


class PromoteForm(forms.Form):
    due_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
