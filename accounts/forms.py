from django import forms

from .signin import REFUSED, SignInRefused, sign_in_verify


class LoginForm(forms.Form):
    """Password and, for users with an authenticator, the one-time code, in one form."""

    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(max_length=128, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    otp = forms.CharField(
        label="One-time code", required=False, max_length=24,
        help_text="The 6-digit code from your authenticator app, or a recovery code. Leave empty if you have not enrolled.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    # One message for every refusal: a right password with a wrong code reads like a wrong password.
    error_messages = {"invalid": REFUSED}

    def __init__(self, request, *args, **kwargs):
        self.request = request
        self.user = None
        self.device = None
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            signed_in = sign_in_verify(request=self.request, username=data["username"], password=data["password"],
                                       otp=data.get("otp", ""))
        except SignInRefused:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        self.user, self.device = signed_in.user, signed_in.device
        return data


class OTPConfirmForm(forms.Form):
    otp = forms.CharField(label="Code from your authenticator app", max_length=16,
                          widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}))
