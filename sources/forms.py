from django import forms

from .choices import SourceKind


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class SourceForm(forms.Form):
    """Add or edit a source; the credential fields are write-only (never filled in again)."""

    kind = forms.ChoiceField(choices=SourceKind.choices)
    name = forms.CharField(max_length=80)
    url = forms.CharField(required=False, max_length=2048, label="URL",
                          help_text="git: https://, ssh:// or git:// (file:// for administrators); endpoint: https://")
    ref = forms.CharField(required=False, max_length=200, label="Branch, tag or commit")
    subdir = forms.CharField(required=False, max_length=500, label="Sub-directory")
    endpoint_url = forms.CharField(required=False, max_length=2048, label="S3 endpoint URL",
                                   help_text="empty for AWS; e.g. https://minio.example.com")
    bucket = forms.CharField(required=False, max_length=63)
    prefix = forms.CharField(required=False, max_length=500, label="Key prefix")
    region = forms.CharField(required=False, max_length=40)
    tracking_uri = forms.CharField(required=False, max_length=2048, label="MLflow tracking URI")
    models = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="registered model names, one per line")
    alias = forms.CharField(required=False, max_length=80)
    stage = forms.CharField(required=False, max_length=40)
    path = forms.CharField(required=False, max_length=1024, label="Directory",
                           help_text="inside the team's check directory on the workers")
    token = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False), max_length=16000,
                            help_text="git (https) or MLflow: a read-only token")
    ssh_key = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
                              max_length=16000, label="SSH deploy key", help_text="git (ssh): a read-only deploy key")
    access_key_id = forms.CharField(required=False, max_length=200, label="Access key id")
    secret_access_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                                        max_length=16000, label="Secret access key")
    clear_credential = forms.BooleanField(required=False, label="Remove the stored credential")

    def __init__(self, *args, source=None, **kwargs):
        if source is not None and "initial" not in kwargs:
            initial = {"kind": source.kind, "name": source.name, **source.config}
            if isinstance(initial.get("models"), list):
                initial["models"] = "\n".join(initial["models"])
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        if source is not None:
            self.fields["kind"].disabled = True

    def config(self, kind: str) -> dict:
        from .choices import CONFIG_FIELDS

        data = self.cleaned_data
        config = {}
        for field in CONFIG_FIELDS[kind]:
            if field == "models":
                config["models"] = _lines(data.get("models", ""))
            elif field in self.fields:
                config[field] = data.get(field, "")
        return config

    def credential(self) -> dict | None:
        data = self.cleaned_data
        given = {k: data[k] for k in ("token", "ssh_key", "access_key_id", "secret_access_key") if data.get(k)}
        return given or None
