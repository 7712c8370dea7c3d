"""API authentication: django-rest-knox tokens and browser sessions, each refusing a credential that
lacks the second factor its user needs.

The second-factor rule lives here, in the authentication layer, rather than in a permission class: a
view that sets its own `permission_classes` still authenticates through these classes, so no view can
forget the check (tests/test_second_factor_everywhere.py walks every route to prove it).

The rule: a credential is *verified* when a second factor was given to obtain it (a session signed in
with a code, a token issued against a code). A user whose role requires MFA reaches the API only with
a verified credential, except that before enrolment (no confirmed device yet) an unverified one may
call the views marked `mfa_enrollment_view` (the `auth/mfa/` endpoints) and nothing else.
"""

from __future__ import annotations

from django.utils import timezone
from knox import auth as knox_auth
from knox.settings import knox_settings
from rest_framework import authentication, exceptions

from .mfa import code_owed, has_confirmed_device
from .models import APIToken
from .tokens import token_expiry, token_outlived

ENROL_FIRST = "Multi-factor authentication is required for your role: enrol through auth/mfa/totp/ first."
SIGN_IN_WITH_CODE = "Multi-factor authentication is required for your role: sign in again with your one-time code."
SIGN_IN_WITH_CODE_OWED = "Give your one-time code to finish signing in (/accounts/oidc/mfa/)."


def credential_verified(request) -> bool:
    """Whether the credential behind `request` (a DRF or a Django request) was obtained with a second factor."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, APIToken):
        return auth.mfa_verified
    django_request = getattr(request, "_request", request)
    user = getattr(django_request, "user", None)
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def second_factor_gate(*, user, verified: bool, view) -> None:
    """Raise PermissionDenied unless `user`, holding a credential that is `verified` or not, may use `view`."""
    if verified or not user.requires_mfa:
        return
    if has_confirmed_device(user):
        raise exceptions.PermissionDenied(SIGN_IN_WITH_CODE)
    if not getattr(view, "mfa_enrollment_view", False):
        raise exceptions.PermissionDenied(ENROL_FIRST)


class SecondFactorGate:
    """Mixin for DRF authentication classes: after authenticating, apply `second_factor_gate`."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user, auth = result
            view = (getattr(request, "parser_context", None) or {}).get("view")
            second_factor_gate(user=user, verified=self.credential_verified(request, auth), view=view)
        return result

    def credential_verified(self, request, auth) -> bool:  # pragma: no cover - each subclass says
        raise NotImplementedError


class TokenAuthentication(SecondFactorGate, knox_auth.TokenAuthentication):
    """`Authorization: Token <key>` against knox's digests, with an idle and an absolute lifetime."""

    def authenticate_credentials(self, token):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        user, auth_token = super().authenticate_credentials(token)
        if token_outlived(auth_token, timezone.now()):
            auth_token.delete()
            raise exceptions.AuthenticationFailed("Invalid token.")
        return user, auth_token

    def renew_token(self, auth_token) -> None:
        """Each use pushes the expiry to now + the idle lifetime, never past the absolute lifetime."""
        new_expiry = token_expiry(auth_token, timezone.now())
        if (new_expiry - auth_token.expiry).total_seconds() > knox_settings.MIN_REFRESH_INTERVAL:
            auth_token.expiry = new_expiry
            auth_token.save(update_fields=["expiry"])

    def credential_verified(self, request, auth) -> bool:
        return auth.mfa_verified


class SessionAuthentication(SecondFactorGate, authentication.SessionAuthentication):
    """The browser's session; verified when the sign-in gave a one-time code (django-otp)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and code_owed(request._request):
            raise exceptions.PermissionDenied(SIGN_IN_WITH_CODE_OWED)
        return result

    def credential_verified(self, request, auth) -> bool:
        return credential_verified(request._request)
