"""Pages: a user whose role requires MFA goes to enrolment before anything else; a session that owes
the portal's one-time code (accounts.mfa.code_owed) goes to the code page."""

from django.shortcuts import redirect
from django.urls import reverse

from .mfa import code_owed, has_confirmed_device

EXEMPT_PREFIXES = ("/accounts/", "/static/", "/api/", "/healthz")


class MFAEnforcementMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if code_owed(request) and not request.path.startswith(EXEMPT_PREFIXES):
            return redirect(reverse("mfa-verify"))
        if (
            user is not None
            and user.is_authenticated
            and user.requires_mfa
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not user.is_verified()
        ):
            if has_confirmed_device(user) and request.session.get("sso_provider"):
                # Signed in through a provider that proved no second factor: the portal's TOTP now.
                return redirect(f"{reverse('mfa-verify')}")
            if has_confirmed_device(user):
                # Logged in without a code (e.g. the role changed mid-session): sign in again.
                from django.contrib.auth import logout

                logout(request)
                return redirect(f"{reverse('login')}?next={request.path}")
            return redirect("mfa-enrol")
        return self.get_response(request)
