"""Second factor everywhere: no route of the API, no page and no admin page serves a credential that
lacks the second factor its user needs; a pre-enrolment token reaches only `auth/mfa/`; replacing an
authenticator needs the current one; every sign-in, admin included, is an audit event."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import Resolver404, resolve, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.generators import EndpointEnumerator

from accounts.authentication import SecondFactorGate
from accounts.mfa import recovery_codes_regenerate
from accounts.models import APIToken
from accounts.tests.factories import PASSWORD
from accounts.tests.otp import current_code
from accounts.tokens import token_issue
from audit.models import AuditEvent


def concrete(path: str) -> str:
    """`path` with each `{parameter}` replaced by a value its URL pattern accepts."""
    for candidate in ("1", "MLS-01", "a"):
        filled = re.sub(r"\{[^}]+\}", candidate, path)
        try:
            resolve(filled)
            return filled
        except Resolver404:
            continue
    raise AssertionError(f"no sample value resolves {path}")


def api_routes():
    """(method, concrete path, view class) for every operation in the URLconf, parameters filled in."""
    return [(method, concrete(path), callback.cls)
            for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints()]


ROUTES = api_routes()
V1 = [(method, path) for method, path, _ in ROUTES if path.startswith("/api/v1/")]
ENROLMENT = {("POST", "/api/v1/auth/mfa/totp/"), ("POST", "/api/v1/auth/mfa/totp/confirm/")}
SIGN_IN = ("POST", "/api/v1/auth/token/")


@pytest.fixture
def mfa_on(settings):
    settings.MLSEC_REQUIRE_MFA = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    cache.clear()


@pytest.fixture
def superadmin(org):
    """The organisation's administrator, with the Django admin (staff, superuser) and an authenticator."""
    org.admin.is_staff = org.admin.is_superuser = True
    org.admin.save()
    TOTPDevice.objects.create(user=org.admin, name="phone", confirmed=True)
    return org.admin


def call(client, method, path):
    return getattr(client, method.lower())(path, {}, format="json")


def test_the_route_walk_covers_the_api_it_must_protect():
    paths = {path for _, path in V1}
    for expected in ("/api/v1/users/", "/api/v1/audit-events/", "/api/v1/auth/mfa/totp/", "/api/v1/projects/1/"):
        assert expected in paths, expected
    assert len(V1) >= 50


def test_every_api_view_authenticates_through_the_second_factor_gate():
    """The MFA rule sits in the authentication classes, which every view uses whatever its permission_classes."""
    for method, path, view_class in ROUTES:
        view = view_class()
        view.request = None
        if (method, path) == SIGN_IN:
            continue  # signing in takes credentials from the body; DELETE on the same path is checked below
        view._signing_in = False
        authenticators = view.get_authenticators()
        assert authenticators, (method, path)
        for authenticator in authenticators:
            assert isinstance(authenticator, SecondFactorGate), (method, path, type(authenticator))


@pytest.mark.parametrize(("method", "path"), [r for r in V1 if r != SIGN_IN])
def test_every_api_route_refuses_a_session_without_the_second_factor(mfa_on, superadmin, api, method, path):
    client = api()
    client.force_login(superadmin)  # a password-only session: no code was given
    response = call(client, method, path)
    assert response.status_code == 403, (method, path, response.status_code)


@pytest.mark.parametrize(("method", "path"), [r for r in V1 if r != SIGN_IN])
def test_a_pre_enrolment_token_reaches_only_the_mfa_endpoints(mfa_on, org, api, method, path):
    org.admin.is_superuser = True
    org.admin.save()
    signed_in = api().post("/api/v1/auth/token/", {"username": "admin", "password": PASSWORD}, format="json")
    assert signed_in.data["mfa_enrollment_required"] is True
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {signed_in.data['token']}")
    response = call(client, method, path)
    if (method, path) in ENROLMENT:
        assert response.status_code in (200, 400), (method, path, response.status_code)
    else:
        assert response.status_code == 403, (method, path, response.status_code)


def test_admin_password_only_sign_in_reaches_no_admin_page_and_no_api(mfa_on, superadmin, client):
    """The admin's own login page takes no password: it hands over to the portal's, which asks for the code."""
    response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    for url in ("/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{superadmin.pk}/password/",
                "/admin/accounts/user/add/"):
        assert client.get(url).status_code == 302, url
    for url in ("/api/v1/users/", "/api/v1/audit-events/"):
        assert client.get(url).status_code in (401, 403), url


def test_the_admin_refuses_a_session_signed_in_without_the_code(mfa_on, superadmin, client):
    for url in ("/admin/", "/admin/accounts/user/", "/admin/accounts/user/add/"):
        client.force_login(superadmin)
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    client.force_login(superadmin)
    assert client.post("/admin/accounts/user/add/", {"username": "intruder", "password1": "x" * 20,
                                                     "password2": "x" * 20}).status_code == 302
    from accounts.models import User

    assert not User.objects.filter(username="intruder").exists()


def test_the_admin_opens_after_signing_in_with_the_code(mfa_on, superadmin, client):
    device = TOTPDevice.objects.get(user=superadmin)
    response = client.post("/accounts/login/", {"username": "admin", "password": PASSWORD, "otp": current_code(device),
                                                "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get("/api/v1/users/").status_code == 200


def test_the_admin_site_itself_requires_the_second_factor(mfa_on, superadmin, rf):
    """Behind the MFA middleware, the admin site checks on its own too (django-otp's OTPAdminSite rule)."""
    from django.contrib import admin
    from django_otp.middleware import OTPMiddleware

    request = rf.get("/admin/")
    request.user = superadmin
    request.session = {}
    OTPMiddleware(lambda r: None)(request)
    assert admin.site.has_permission(request) is False
    request.user.otp_device = TOTPDevice.objects.get(user=superadmin)
    assert admin.site.has_permission(request) is True


def test_a_signed_in_user_who_is_not_staff_is_told_the_admin_is_not_theirs(org, client):
    client.force_login(org.lead)
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 403  # not a redirect loop between the two sign-in pages


def test_pages_send_a_session_without_the_second_factor_back_to_sign_in(mfa_on, superadmin, client):
    for url in ("/", "/dashboard/", "/dashboard/heatmap.json", "/audit-log/", "/settings/", "/admin/"):
        client.force_login(superadmin)
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


# --- adding or replacing a device -----------------------------------------------------------------

def test_replacing_an_authenticator_needs_a_session_verified_with_the_current_one(mfa_on, superadmin, client):
    client.force_login(superadmin)  # password only
    response = client.get("/accounts/mfa/enrol/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not TOTPDevice.objects.filter(user=superadmin, confirmed=False).exists()
    assert TOTPDevice.objects.filter(user=superadmin, confirmed=True).count() == 1


def test_a_session_verified_with_the_current_authenticator_may_replace_it(mfa_on, superadmin, client):
    old = TOTPDevice.objects.get(user=superadmin)
    client.post("/accounts/login/", {"username": "admin", "password": PASSWORD, "otp": current_code(old)})
    assert client.get("/accounts/mfa/enrol/").status_code == 200
    new = TOTPDevice.objects.get(user=superadmin, confirmed=False)
    response = client.post("/accounts/mfa/enrol/", {"otp": current_code(new)})
    assert response.status_code == 302
    assert list(TOTPDevice.objects.filter(user=superadmin, confirmed=True)) == [new]


def test_a_session_verified_with_a_recovery_code_may_replace_the_authenticator(mfa_on, superadmin, client):
    codes = recovery_codes_regenerate(user=superadmin)
    client.post("/accounts/login/", {"username": "admin", "password": PASSWORD, "otp": codes[0]})
    assert client.get("/accounts/mfa/enrol/").status_code == 200


def test_an_unverified_token_cannot_add_a_device_for_a_user_who_has_one(org, api):
    """Even for a role that does not require MFA: whoever already has a device must use it to replace it."""
    TOTPDevice.objects.create(user=org.lead, name="phone", confirmed=True)
    _, key = token_issue(user=org.lead, mfa_verified=False)
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.post("/api/v1/auth/mfa/totp/").status_code == 403
    assert client.post("/api/v1/auth/mfa/totp/confirm/", {"otp": "123456"}, format="json").status_code == 403
    assert not TOTPDevice.objects.filter(user=org.lead, confirmed=False).exists()


def test_a_token_issued_against_the_code_may_replace_the_authenticator(mfa_on, superadmin, api):
    old = TOTPDevice.objects.get(user=superadmin)
    signed_in = api().post("/api/v1/auth/token/", {"username": "admin", "password": PASSWORD, "otp": current_code(old)},
                           format="json")
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {signed_in.data['token']}")
    assert client.post("/api/v1/auth/mfa/totp/").status_code == 200
    new = TOTPDevice.objects.get(user=superadmin, confirmed=False)
    confirmed = client.post("/api/v1/auth/mfa/totp/confirm/", {"otp": current_code(new)}, format="json")
    assert confirmed.status_code == 200 and confirmed.data["token_revoked"] is True
    assert not APIToken.objects.filter(user=superadmin).exists()


# --- every sign-in is audited ---------------------------------------------------------------------

def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_every_sign_in_is_audited_on_the_form_the_api_and_for_the_admin(org, client, api):
    client.post("/accounts/login/", {"username": "lead", "password": PASSWORD})
    api().post("/api/v1/auth/token/", {"username": "member", "password": PASSWORD}, format="json")
    client.logout()
    client.get("/admin/login/?next=/admin/")  # the admin hands over to the portal's sign-in page
    client.post("/accounts/login/", {"username": "admin", "password": PASSWORD, "next": "/admin/"})
    signed_in = [(e.actor_username, e.changes["extra"]["channel"]) for e in events("auth.login")]
    assert signed_in == [("lead", "form"), ("member", "api"), ("admin", "form")]
    assert events("auth.token_issue")[0].actor_username == "member"


def test_every_failed_sign_in_is_audited_without_recording_unknown_usernames(mfa_on, org, client, api):
    TOTPDevice.objects.create(user=org.officer, name="phone", confirmed=True)
    client.post("/accounts/login/", {"username": "lead", "password": "wrong-password"})  # pragma: allowlist secret
    api().post("/api/v1/auth/token/", {"username": "lead", "password": "wrong"}, format="json")  # pragma: allowlist secret
    client.post("/accounts/login/", {"username": "officer", "password": PASSWORD, "otp": "000000"})
    api().post("/api/v1/auth/token/", {"username": "officer", "password": PASSWORD}, format="json")
    client.post("/accounts/login/", {"username": "correct-horse-typed-here", "password": "x"})  # pragma: allowlist secret
    failed = [(e.object_repr, e.changes["extra"]["channel"], e.changes["extra"]["factor"]) for e in events("auth.login_failed")]
    assert failed == [("lead", "form", "password"), ("lead", "api", "password"), ("officer", "form", "otp"),
                      ("officer", "api", "otp"), ("(unknown username)", "form", "password")]
    assert not AuditEvent.objects.filter(object_repr__contains="correct-horse").exists()
    assert all(e.actor is None for e in events("auth.login_failed"))
