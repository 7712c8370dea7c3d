"""The one sign-in decision, shared by the login page (and so the admin) and `POST auth/token/`.

Password and one-time code are judged together and every refusal is the same refusal: a right
password with a missing or wrong code reads exactly like a wrong password (no oracle). Every refusal
is a failed sign-in for django-axes, which counts it against the username, and for the audit trail
(accounts/signals.py records every `user_login_failed`, whoever sends it).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed

from .mfa import has_confirmed_device, verify_code

REFUSED = "Unable to sign in with these details. Check the username, the password and, if you use an authenticator app, the one-time code."


class SignInRefused(Exception):
    message = REFUSED


@dataclass(frozen=True)
class SignIn:
    user: object
    device: object | None  # the device that accepted the one-time code, if one was needed

    @property
    def mfa_verified(self) -> bool:
        return self.device is not None


def sign_in_verify(*, request, username: str, password: str, otp: str = "") -> SignIn:
    """Check the password and, for a user with a confirmed device, the one-time code; raise SignInRefused.

    `request` is the Django HttpRequest: django-axes reads the client address and records the failure.
    """
    mode = settings.MLSEC_PASSWORD_LOGIN
    if mode == "none":
        raise SignInRefused  # everyone signs in through the identity provider
    user = authenticate(request, username=username, password=password)
    if user is not None and mode != "all" and not user.is_superuser:
        # "break-glass" (or an unknown value, read as the stricter one): only superusers keep a password.
        raise SignInRefused
    if user is None:
        # authenticate() has sent user_login_failed (a wrong password, or a username locked out).
        raise SignInRefused
    device = None
    if has_confirmed_device(user):
        device = verify_code(user, otp)
        if device is None:
            # The same failure as a wrong password, counted by django-axes against the username.
            user_login_failed.send(sender=__name__, credentials={"username": username}, request=request,
                                   reason="otp")
            raise SignInRefused
    return SignIn(user=user, device=device)
