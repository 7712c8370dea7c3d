from django import forms

from . import events
from .choices import TEAM_CHANNEL_KINDS, Delivery


class PreferencesForm(forms.Form):
    """One choice per registered event."""

    def __init__(self, *args, current: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        for row in current:
            self.fields[row["event"]] = forms.ChoiceField(
                label=row["label"], choices=Delivery.choices, initial=row["delivery"], required=False,
                help_text=f"Sent to {row['audience']}.")


class TeamChannelForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k.value, k.label) for k in TEAM_CHANNEL_KINDS])
    name = forms.CharField(max_length=80, help_text="For you: e.g. #fraud-alerts")
    url = forms.CharField(max_length=2048, label="Webhook URL", widget=forms.PasswordInput(render_value=False),
                          help_text="Slack or Teams incoming-webhook URL, or your receiver. Never shown again.")
    secret = forms.CharField(max_length=512, required=False, label="Signing secret",
                             widget=forms.PasswordInput(render_value=False),
                             help_text="Signed JSON webhooks only: at least 16 characters. Never shown again.")
    events = forms.MultipleChoiceField(choices=[(e.key, e.label) for e in events.EVENTS.values()], required=False,
                                       widget=forms.CheckboxSelectMultiple, help_text="None ticked: every event.")
