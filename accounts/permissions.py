"""API permissions that apply everywhere."""

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission

from .mfa import has_confirmed_device


class MFASatisfied(BasePermission):
    """A role that requires MFA reaches the API only with a second factor.

    A token issued before enrolment is good only for views marked `mfa_enrollment_view`; a browser
    session must have been verified with a code at login.
    """

    message = "Multi-factor authentication is required for your role: enrol through auth/mfa/totp/ first."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not user.requires_mfa:
            return True
        if getattr(view, "mfa_enrollment_view", False):
            return True
        if not has_confirmed_device(user):
            return False
        if isinstance(request.successful_authenticator, SessionAuthentication):
            verified = getattr(request._request.user, "is_verified", None)
            return bool(verified and verified())
        return True
