from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed

from .mfa import has_confirmed_device, verify_code


class LoginForm(forms.Form):
    """Password and, for users with an authenticator, the one-time code, in one form."""

    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(max_length=128, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    otp = forms.CharField(
        label="One-time code", required=False, max_length=24,
        help_text="The 6-digit code from your authenticator app, or a recovery code. Leave empty if you have not enrolled.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    error_messages = {
        "invalid": "Unable to sign in with this username and password.",
        "otp_missing": "Enter the one-time code from your authenticator app.",
        "otp_invalid": "This one-time code is not valid.",
    }

    def __init__(self, request, *args, **kwargs):
        self.request = request
        self.user = None
        self.device = None
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        user = authenticate(self.request, username=data["username"], password=data["password"])
        if user is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if has_confirmed_device(user):
            code = data.get("otp", "")
            if not code:
                raise forms.ValidationError(self.error_messages["otp_missing"], code="otp_missing")
            self.device = verify_code(user, code)
            if self.device is None:
                # A wrong code counts as a failed sign-in, so django-axes locks out code guessing too.
                user_login_failed.send(sender=__name__, credentials={"username": data["username"]}, request=self.request)
                raise forms.ValidationError(self.error_messages["otp_invalid"], code="otp_invalid")
        self.user = user
        return data


class OTPConfirmForm(forms.Form):
    otp = forms.CharField(label="Code from your authenticator app", max_length=16,
                          widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}))
