"""Pages of the OpenID Connect sign-in: start (choose the provider), callback, logout, and the
portal's second factor after a provider sign-in that proved none."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.contrib import auth, messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django.views.generic import View
from django_otp import login as otp_login
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    OIDCLogoutView,
)

from accounts.forms import OTPConfirmForm
from accounts.mfa import CODE_OWED, has_confirmed_device, verify_code
from accounts.views import clear_browser_cache
from audit.services import audit_alone

from .models import IdentityProviderMFA
from .oidc import STATE_PROVIDERS
from .providers import ProviderUnavailable, configured_providers, discovery, provider_by_slug

SSO_SESSION_KEY = "sso_provider"
UNAVAILABLE = "Single sign-on is not available right now: the identity provider did not answer. Try again later."


class OIDCLoginView(OIDCAuthenticationRequestView):
    """`/accounts/oidc/login/?provider=<slug>` (the only provider when there is one)."""

    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)  # the library reads one provider from settings here; ours is per request
        self.provider = None

    def get_settings(self, attr, *args):
        if attr == "OIDC_RP_SCOPES" and self.provider is not None:
            return self.provider.scopes
        return import_from_settings(attr, *args)

    def get(self, request):
        providers = configured_providers()
        slug = request.GET.get("provider") or (providers[0].slug if len(providers) == 1 else "")
        self.provider = provider_by_slug(slug) if slug else None
        if self.provider is None:
            messages.error(request, "Choose an identity provider to sign in with.")
            return redirect("login")
        try:
            metadata = discovery(self.provider)
        except ProviderUnavailable:
            messages.error(request, UNAVAILABLE)
            return redirect("login")
        self.OIDC_OP_AUTH_ENDPOINT = metadata["authorization_endpoint"]
        self.OIDC_RP_CLIENT_ID = self.provider.client_id
        response = super().get(request)
        state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
        pending = request.session.get(STATE_PROVIDERS) or {}
        pending[state] = self.provider.slug
        request.session[STATE_PROVIDERS] = dict(list(pending.items())[-20:])  # as many as the library keeps
        return response


class OIDCCallbackView(OIDCAuthenticationCallbackView):
    """The provider's redirect back: the library checks state and authenticates; this logs in."""

    def login_failure(self):
        messages.error(self.request, "Single sign-on did not succeed. Try again, or ask an administrator.")
        return redirect("login")

    def login_success(self):
        request, user = self.request, self.user
        provider, proven = user._sso_provider, user._sso_mfa
        auth.login(request, user, backend="identity.oidc.PortalOIDCBackend")
        request.session[SSO_SESSION_KEY] = provider.slug
        if proven:
            device, _ = IdentityProviderMFA.objects.get_or_create(
                user=user, name=f"sso:{provider.slug}"[:64], defaults={"confirmed": True})
            otp_login(request, device)
        audit_alone(actor=user, action="auth.login", object_type="accounts.user", object_id=str(user.pk),
                    object_repr=user.get_username(),
                    extra={"channel": "oidc", "provider": provider.slug, "mfa": "provider" if proven else False})
        if not proven and has_confirmed_device(user):
            # An authenticator is held (by role or by choice): its code, as a password sign-in asks.
            request.session[CODE_OWED] = True
            return redirect("mfa-verify")
        if user.requires_mfa and not proven:
            return redirect("mfa-enrol")
        return redirect(self.success_url)


class OIDCLogout(OIDCLogoutView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        return clear_browser_cache(super().post(request, *args, **kwargs))


def _locked_out(request, user) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_locked(request, credentials={"username": user.get_username()})


@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request) -> HttpResponse:
    """The portal's TOTP for a session signed in through a provider that proved no second factor."""
    user = request.user
    if user.is_verified():
        return redirect(request.session.get("oidc_login_next") or "home")
    if not has_confirmed_device(user):
        request.session.pop(CODE_OWED, None)  # the authenticator was removed since: nothing to ask for
        return redirect("mfa-enrol" if user.requires_mfa else "home")
    form = OTPConfirmForm(request.POST or None)
    if request.method == "POST" and _locked_out(request, user):
        auth.logout(request)  # repeated wrong codes: the session ends, as a password sign-in would lock out
        messages.error(request, "Too many wrong codes: this account is locked for a while. Try again later.")
        return redirect("login")
    if request.method == "POST" and form.is_valid():
        device = verify_code(user, form.cleaned_data["otp"])
        if device is not None:
            otp_login(request, device)
            request.session.pop(CODE_OWED, None)
            audit_alone(actor=user, action="auth.mfa_verified", object_type="accounts.user", object_id=str(user.pk),
                        object_repr=user.get_username(), extra={"channel": "oidc"})
            return redirect(request.session.get("oidc_login_next") or "home")
        # Counted like a wrong password (django-axes locks the username out after repeated failures).
        user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request,
                               reason="otp")
        form.add_error("otp", "This code is not valid. Check the time on your device and try the next code.")
    return render(request, "identity/mfa_verify.html", {"form": form})
