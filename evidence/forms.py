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


class ReviewForm(forms.Form):
    status = forms.ChoiceField(choices=[("accepted", "Accept"), ("rejected", "Reject")])
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)
