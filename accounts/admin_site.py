"""The Django admin site, behind the portal's own sign-in.

Like django-otp's `OTPAdminSite`, the admin requires a session verified with a second factor (for
every user whose role or staff status requires MFA). Unlike it, the admin has no password form of its
own: `/admin/login/` sends the visitor to the portal's sign-in page, so there is one sign-in, with one
lock-out, one refusal message and one audit trail.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from .authentication import credential_verified


def session_complete(request) -> bool:
    """Signed in, and with the second factor the user's role requires."""
    user = request.user
    return user.is_authenticated and (not user.requires_mfa or credential_verified(request))


class PortalAdminSite(admin.AdminSite):
    site_header = "MLSec Portal administration"
    site_title = "MLSec Portal admin"

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and session_complete(request)

    def login(self, request, extra_context=None):
        target = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            target = ""
        target = target or reverse("admin:index", current_app=self.name)
        if self.has_permission(request):
            return redirect(target)
        if session_complete(request):
            # Fully signed in but not allowed here: say so, rather than bounce between the two pages.
            raise PermissionDenied("Your account does not use the administration site.")
        return redirect_to_login(target, login_url=reverse("login"))
