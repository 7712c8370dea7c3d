"""The portal practises what it preaches: MFA, recovery codes, lock-out, throttling, headers, cookies."""

import pytest
from django.core.cache import cache
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa import recovery_codes_regenerate
from accounts.signin import REFUSED
from accounts.tests.factories import PASSWORD
from audit.models import AuditEvent


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def next_code(device: TOTPDevice) -> str:
    """A code the device has not seen yet (TOTP codes are single-use within their window)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def mfa_on(settings):
    settings.MLSEC_REQUIRE_MFA = True
    cache.clear()


@pytest.fixture
def no_otp_throttle(settings):
    """django-otp refuses even a right code for a moment after a wrong one; these tests try both in a row."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def enrolled(org):
    device = TOTPDevice.objects.create(user=org.officer, name="phone", confirmed=True)
    return device


# --- pages --------------------------------------------------------------------------------------

def test_an_officer_without_a_device_must_enrol_before_anything_else(mfa_on, org, client):
    response = client.post("/accounts/login/", {"username": "officer", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/mfa/enrol/"
    assert client.get("/dashboard/")["Location"] == "/accounts/mfa/enrol/"
    page = client.get("/accounts/mfa/enrol/")
    assert page.status_code == 200 and b"<svg" in page.content  # the QR code, drawn inline
    device = TOTPDevice.objects.get(user=org.officer, confirmed=False)
    response = client.post("/accounts/mfa/enrol/", {"otp": current_code(device)})
    assert response.status_code == 302 and response["Location"] == "/accounts/mfa/recovery-codes/"
    codes_page = client.get("/accounts/mfa/recovery-codes/").content.decode()
    assert codes_page.count("<li>") >= 10
    assert client.get("/accounts/mfa/recovery-codes/").content.decode().count("<li>") < 10  # shown once
    assert client.get("/dashboard/").status_code == 200


def test_after_a_wrong_code_even_the_right_one_waits(mfa_on, org, enrolled, client):
    """django-otp's own throttle: guessing codes gets slower with every failure."""
    client.post("/accounts/login/", {"username": "officer", "password": PASSWORD, "otp": "000000"})
    response = client.post("/accounts/login/", {"username": "officer", "password": PASSWORD, "otp": current_code(enrolled)})
    assert response.status_code == 200 and REFUSED in response.content.decode()


def test_a_wrong_code_does_not_confirm_enrolment(mfa_on, org, client):
    client.post("/accounts/login/", {"username": "officer", "password": PASSWORD})
    client.get("/accounts/mfa/enrol/")
    response = client.post("/accounts/mfa/enrol/", {"otp": "000000"})
    assert response.status_code == 200 and b"not valid" in response.content
    assert not TOTPDevice.objects.filter(user=org.officer, confirmed=True).exists()


def test_an_enrolled_officer_needs_the_code_to_sign_in(mfa_on, no_otp_throttle, org, enrolled, client):
    response = client.post("/accounts/login/", {"username": "officer", "password": PASSWORD})
    assert response.status_code == 200 and REFUSED in response.content.decode()
    response = client.post("/accounts/login/", {"username": "officer", "password": PASSWORD, "otp": "123456"})
    assert REFUSED in response.content.decode()
    response = client.post("/accounts/login/", {"username": "officer", "password": PASSWORD, "otp": current_code(enrolled)})
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_a_recovery_code_signs_in_once(mfa_on, org, enrolled, client):
    codes = recovery_codes_regenerate(user=org.officer)
    assert len(codes) == 10 and all(len(code) == 19 and code.count("-") == 3 for code in codes)
    assert client.post("/accounts/login/", {"username": "officer", "password": PASSWORD, "otp": codes[0]}).status_code == 302
    client.logout()
    response = client.post("/accounts/login/", {"username": "officer", "password": PASSWORD, "otp": codes[0]})
    assert response.status_code == 200 and REFUSED in response.content.decode()


def test_leads_and_members_may_sign_in_without_a_second_factor_but_may_opt_in(mfa_on, org, client):
    assert client.post("/accounts/login/", {"username": "lead", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    device = TOTPDevice.objects.create(user=org.lead, name="phone", confirmed=True)
    client.logout()
    assert REFUSED in client.post("/accounts/login/", {"username": "lead", "password": PASSWORD}).content.decode()
    assert client.post("/accounts/login/", {"username": "lead", "password": PASSWORD,
                                            "otp": current_code(device)}).status_code == 302


# --- API ----------------------------------------------------------------------------------------

def test_an_api_token_before_enrolment_only_reaches_the_mfa_endpoints(mfa_on, no_otp_throttle, org, api):
    response = api().post("/api/v1/auth/token/", {"username": "auditor", "password": PASSWORD}, format="json")
    assert response.status_code == 200 and response.data["mfa_enrollment_required"] is True
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.data['token']}")
    assert client.get("/api/v1/projects/").status_code == 403
    started = client.post("/api/v1/auth/mfa/totp/")
    assert started.status_code == 200 and started.data["otpauth_url"].startswith("otpauth://totp/")
    device = TOTPDevice.objects.get(user=org.auditor, confirmed=False)
    assert client.post("/api/v1/auth/mfa/totp/confirm/", {"otp": "000000"}, format="json").status_code == 400
    confirmed = client.post("/api/v1/auth/mfa/totp/confirm/", {"otp": current_code(device)}, format="json")
    assert confirmed.status_code == 200 and len(confirmed.data["recovery_codes"]) == 10
    assert confirmed.data["token_revoked"] is True
    # The pre-enrolment token never becomes a full one: it is gone, and a new sign-in with the code gives one.
    assert client.get("/api/v1/projects/").status_code == 401
    again = api().post("/api/v1/auth/token/", {"username": "auditor", "password": PASSWORD, "otp": next_code(device)},
                       format="json")
    assert again.status_code == 200 and "mfa_enrollment_required" not in again.data
    client.credentials(HTTP_AUTHORIZATION=f"Token {again.data['token']}")
    assert client.get("/api/v1/projects/").status_code == 200


def test_once_enrolled_the_token_endpoint_needs_the_code(mfa_on, no_otp_throttle, org, enrolled, api):
    anonymous = api()
    response = anonymous.post("/api/v1/auth/token/", {"username": "officer", "password": PASSWORD}, format="json")
    assert response.status_code == 400 and response.data == {"detail": REFUSED}
    response = anonymous.post("/api/v1/auth/token/", {"username": "officer", "password": PASSWORD, "otp": "999999"},
                              format="json")
    assert response.status_code == 400 and response.data == {"detail": REFUSED}
    response = anonymous.post("/api/v1/auth/token/", {"username": "officer", "password": PASSWORD,
                                                      "otp": current_code(enrolled)}, format="json")
    assert response.status_code == 200 and "mfa_enrollment_required" not in response.data


def test_a_browser_session_without_the_second_factor_cannot_use_the_api(mfa_on, org, enrolled, client):
    client.force_login(org.officer)  # a session that never gave a code
    assert client.get("/api/v1/projects/").status_code == 403


# --- lock-out and throttling --------------------------------------------------------------------

def test_repeated_failures_lock_the_account_on_the_login_page(settings, org, client):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/accounts/login/", {"username": "lead", "password": "wrong-password"})  # pragma: allowlist secret
    response = client.post("/accounts/login/", {"username": "lead", "password": PASSWORD})
    assert response.status_code == 429 and b"locked" in response.content
    assert client.get("/").status_code == 302  # not signed in


def test_repeated_failures_lock_the_account_on_the_token_endpoint(settings, org, api):
    settings.AXES_FAILURE_LIMIT = 3
    client = api()
    attempts = [client.post("/api/v1/auth/token/", {"username": "lead", "password": "nope"}, format="json").status_code  # pragma: allowlist secret
                for _ in range(3)]
    assert attempts == [400, 400, 429]  # the third failure locks the account at once
    response = client.post("/api/v1/auth/token/", {"username": "lead", "password": PASSWORD}, format="json")
    assert response.status_code == 429 and "locked" in response.json()["detail"]
    assert "token" not in response.json()


def test_the_lockout_counts_failures_across_both_paths(settings, org, client, api):
    settings.AXES_FAILURE_LIMIT = 2
    client.post("/accounts/login/", {"username": "member", "password": "wrong"})  # pragma: allowlist secret
    api().post("/api/v1/auth/token/", {"username": "member", "password": "wrong"}, format="json")  # pragma: allowlist secret
    response = client.post("/accounts/login/", {"username": "member", "password": PASSWORD})
    assert response.status_code == 429


def test_wrong_codes_count_as_failures(settings, mfa_on, org, enrolled, client):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/accounts/login/", {"username": "officer", "password": PASSWORD, "otp": "000001"})
    response = client.post("/accounts/login/", {"username": "officer", "password": PASSWORD, "otp": next_code(enrolled)})
    assert response.status_code == 429


def test_the_token_endpoint_is_throttled(org, api):
    cache.clear()
    from rest_framework.throttling import ScopedRateThrottle

    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = {**original, "token": "3/minute"}
    try:
        codes = [api().post("/api/v1/auth/token/", {"username": "lead", "password": PASSWORD}, format="json").status_code
                 for _ in range(5)]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original  # restored as found: other tests share the class
        cache.clear()
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]


def test_api_users_are_throttled(settings, org, api):
    from rest_framework.throttling import UserRateThrottle

    cache.clear()
    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**original, "user": "4/minute"}
    try:
        codes = [api(org.lead).get("/api/v1/practices/").status_code for _ in range(6)]
    finally:
        UserRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert codes == [200] * 4 + [429] * 2


def test_sign_ins_are_audited(org, client):
    client.post("/accounts/login/", {"username": "lead", "password": PASSWORD})
    assert AuditEvent.objects.filter(action="auth.login", actor=org.lead).exists()


# --- headers and cookies ------------------------------------------------------------------------

def test_pages_send_the_security_headers(org, client):
    client.force_login(org.lead)
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "default-src 'self'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Request-ID"]


def test_no_page_carries_an_inline_script(org, client):
    import re

    from assessments.tests.factories import make_assessment

    assessment = make_assessment(org.project)
    client.force_login(org.officer)
    for url in ("/dashboard/", "/teams/fraud/", f"/projects/{org.project.pk}/", f"/assessments/{assessment.pk}/",
                "/reports/", "/checks/", "/audit-log/", "/settings/", "/accounts/mfa/enrol/"):
        html = client.get(url).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)
        assert " onclick=" not in html and " onload=" not in html and "javascript:" not in html


def test_the_session_cookie_is_httponly_and_samesite(org, client):
    response = client.post("/accounts/login/", {"username": "lead", "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
