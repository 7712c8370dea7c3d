"""Sign-in, sign-out and MFA enrolment pages."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import audit_alone

from .admin_site import session_complete
from .authentication import credential_verified
from .forms import LoginForm, OTPConfirmForm
from .mfa import (
    REPLACE_NEEDS_VERIFIED,
    has_confirmed_device,
    must_enrol,
    recovery_codes_regenerate,
    totp_confirm,
    totp_secret,
    totp_start,
)


def clear_browser_cache(response: HttpResponse) -> HttpResponse:
    """After sign-out the browser drops what it kept of the portal's pages and data (the dashboard's
    heatmap, revalidated with its ETag while signed in, is otherwise still on disk)."""
    response["Clear-Site-Data"] = '"cache"'
    return response


class SignOutView(LogoutView):
    def post(self, request, *args, **kwargs):
        return clear_browser_cache(super().post(request, *args, **kwargs))


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if session_complete(request) and not must_enrol(request.user):
        return redirect(_safe_next(request) or "home")
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.user
        auth_login(request, user)
        if form.device is not None:
            otp_login(request, form.device)
        audit_alone(actor=user, action="auth.login", object_type="accounts.user", object_id=str(user.pk),
                    object_repr=user.get_username(), extra={"channel": "form", "mfa": form.device is not None})
        if must_enrol(user):
            messages.warning(request, "Your role requires a second factor: set up your authenticator app to continue.")
            return redirect("mfa-enrol")
        return redirect(_safe_next(request) or "home")
    from django.conf import settings

    from identity.providers import configured_providers

    return render(request, "accounts/login.html", {
        "form": form, "next": _safe_next(request), "sso_providers": configured_providers(),
        "password_login": settings.MLSEC_PASSWORD_LOGIN,
    })


@login_required
@require_http_methods(["GET", "POST"])
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """Show a QR code for a new TOTP device and activate it with a first code.

    Replacing an existing authenticator needs a session signed in with it (or with a recovery code).
    """
    user = request.user
    verified = credential_verified(request)
    if has_confirmed_device(user) and not verified:
        messages.error(request, REPLACE_NEEDS_VERIFIED)
        return redirect(f"{reverse('login')}?next={reverse('mfa-enrol')}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if request.method == "GET" and device is None:
        device = totp_start(user=user, verified=verified)
    form = OTPConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = totp_confirm(user=user, code=form.cleaned_data["otp"], verified=verified)
        if codes is not None:
            otp_login(request, TOTPDevice.objects.get(user=user, confirmed=True))
            request.session["mfa_recovery_codes"] = codes
            return redirect("mfa-recovery-codes")
        form.add_error("otp", "This code is not valid. Check the time on your device and try the next code.")
    if device is None:
        device = totp_start(user=user, verified=verified)
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#12284a")
    return render(request, "accounts/mfa_enrol.html", {
        "form": form, "secret": totp_secret(device), "qr_svg": qr_svg, "already_enrolled": has_confirmed_device(user),
    })


@login_required
def mfa_recovery_codes(request: HttpRequest) -> HttpResponse:
    """Show freshly made recovery codes once; regenerating needs a verified session."""
    if request.method == "POST":
        if not request.user.is_verified():
            messages.error(request, "Sign in with your authenticator before making new recovery codes.")
            return redirect("home")
        request.session["mfa_recovery_codes"] = recovery_codes_regenerate(user=request.user)
        return redirect("mfa-recovery-codes")
    codes = request.session.pop("mfa_recovery_codes", None)
    return render(request, "accounts/mfa_recovery_codes.html", {"codes": codes})
