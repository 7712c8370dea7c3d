from django import forms

from .models import EvidenceKind


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(choices=[(EvidenceKind.FILE, "File"), (EvidenceKind.LINK, "Link"), (EvidenceKind.NOTE, "Note")],
                             widget=forms.RadioSelect, initial=EvidenceKind.FILE)
    title = forms.CharField(max_length=200, help_text="What it is, e.g. 'Penetration test report, October 2026'.")
    file = forms.FileField(required=False, help_text="PDF, image, office document, ZIP, CSV/JSON/text.")
    url = forms.URLField(required=False, max_length=2048, assume_scheme="https", label="Link")
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=20000, label="Note")
    valid_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                  help_text="After this day the practice is marked stale.")
    effective_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                   label="Valid from (as of)",
                                   help_text="The day the evidence speaks for, if not the day you store it.")
    observed_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                    label="Observation period from")
    observed_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                     label="Observation period until")

    def dates(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in ("effective_on", "observed_from", "observed_until")}


class ReviewForm(forms.Form):
    status = forms.ChoiceField(choices=[("accepted", "Accept"), ("rejected", "Reject")])
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)


class SharedEvidenceForm(EvidenceForm):
    """A document a team (or, for officers, the organisation) keeps once and links to many projects."""

    owner = forms.ChoiceField(label="Shared by", help_text="The team that keeps it, or the whole organisation.")
    practice = forms.ChoiceField(help_text="The practice it is evidence for; links name a practice each too.")

    def __init__(self, *args, owners: list[tuple[str, str]], practices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = owners
        self.fields["practice"].choices = practices
        self.order_fields(["owner", "practice"])


class LinkForm(forms.Form):
    project = forms.IntegerField()
    practice = forms.CharField(max_length=10)
