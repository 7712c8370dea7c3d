"""Lock-out that cannot lock out the organisation, and one client address for lock-out, throttling and audit."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import RequestFactory
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.throttling import ScopedRateThrottle as DRFScopedRateThrottle

from accounts.lockout import lockout_message
from accounts.tests.factories import PASSWORD
from accounts.tests.otp import next_code
from audit.models import AuditEvent
from mlsec_portal.clientip import client_ip

WRONG = "not-the-password"  # pragma: allowlist secret


@pytest.fixture
def limit_3(settings):
    settings.AXES_FAILURE_LIMIT = 3


def test_failures_for_one_user_leave_another_user_able_to_sign_in_from_the_same_address(limit_3, org, client):
    for _ in range(5):
        client.post("/accounts/login/", {"username": "lead", "password": WRONG})
    assert client.post("/accounts/login/", {"username": "lead", "password": PASSWORD}).status_code == 429
    response = client.post("/accounts/login/", {"username": "member", "password": PASSWORD})
    assert response.status_code == 302  # same address (127.0.0.1), another user: signed in


def test_failures_for_one_user_leave_another_user_able_to_get_a_token_from_the_same_address(limit_3, org, api):
    for _ in range(5):
        api().post("/api/v1/auth/token/", {"username": "lead", "password": WRONG}, format="json")
    assert api().post("/api/v1/auth/token/", {"username": "lead", "password": PASSWORD}, format="json").status_code == 429
    response = api().post("/api/v1/auth/token/", {"username": "member", "password": PASSWORD}, format="json")
    assert response.status_code == 200 and response.data["token"]


def test_guessing_across_many_usernames_from_one_address_locks_none_of_them_out(limit_3, org, client):
    for name in ("lead", "member", "officer", "auditor", "nobody", "ghost-1", "ghost-2"):
        client.post("/accounts/login/", {"username": name, "password": WRONG})
    assert client.post("/accounts/login/", {"username": "lead", "password": PASSWORD}).status_code == 302


def test_the_lock_follows_the_username_whatever_the_address(limit_3, org):
    from django.test import Client

    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        Client(REMOTE_ADDR=address).post("/accounts/login/", {"username": "lead", "password": WRONG})
    response = Client(REMOTE_ADDR="198.51.100.4").post("/accounts/login/", {"username": "lead", "password": PASSWORD})
    assert response.status_code == 429


def test_the_locked_message_names_the_username_tried_not_an_account(limit_3, org, client, api):
    for _ in range(3):
        client.post("/accounts/login/", {"username": "ghost", "password": WRONG})
    page = client.post("/accounts/login/", {"username": "ghost", "password": WRONG}).content.decode()
    assert lockout_message() in page and "this account" not in page.lower()
    assert "this username" in lockout_message() and "Other users can still sign in" in lockout_message()
    for _ in range(3):
        api().post("/api/v1/auth/token/", {"username": "lead", "password": WRONG}, format="json")
    body = api().post("/api/v1/auth/token/", {"username": "lead", "password": WRONG}, format="json").json()
    assert body == {"detail": lockout_message()}


def test_a_wrong_code_on_the_api_counts_as_a_failure_like_on_the_form(limit_3, settings, org, api):
    settings.MLSEC_REQUIRE_MFA = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = TOTPDevice.objects.create(user=org.officer, name="phone", confirmed=True)
    for _ in range(3):
        api().post("/api/v1/auth/token/", {"username": "officer", "password": PASSWORD, "otp": "000001"}, format="json")
    response = api().post("/api/v1/auth/token/", {"username": "officer", "password": PASSWORD, "otp": next_code(device)},
                          format="json")
    assert response.status_code == 429 and "token" not in response.json()


def test_wrong_codes_on_the_form_and_the_api_add_up(limit_3, settings, org, client, api):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = TOTPDevice.objects.create(user=org.officer, name="phone", confirmed=True)
    client.post("/accounts/login/", {"username": "officer", "password": PASSWORD, "otp": "000001"})
    api().post("/api/v1/auth/token/", {"username": "officer", "password": PASSWORD, "otp": "000002"}, format="json")
    api().post("/api/v1/auth/token/", {"username": "officer", "password": WRONG}, format="json")
    response = client.post("/accounts/login/", {"username": "officer", "password": PASSWORD, "otp": next_code(device)})
    assert response.status_code == 429


# --- one client address ---------------------------------------------------------------------------

def request_from(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_the_client_address_is_the_peer_unless_a_proxy_is_trusted(settings):
    settings.MLSEC_TRUST_PROXY = False
    assert client_ip(request_from("10.0.0.5", "203.0.113.9")) == "10.0.0.5"
    settings.MLSEC_TRUST_PROXY = True
    assert client_ip(request_from("10.0.0.5", "203.0.113.9")) == "203.0.113.9"
    assert client_ip(request_from("10.0.0.5", "198.51.100.1, 203.0.113.9")) == "203.0.113.9"  # the proxy's entry
    assert client_ip(request_from("10.0.0.5", "2001:DB8::0:1")) == "2001:db8::1"  # normalised
    assert client_ip(request_from("10.0.0.5", "::ffff:203.0.113.9")) == "203.0.113.9"
    assert client_ip(request_from("10.0.0.5", "[2001:db8::7]:443")) == "2001:db8::7"


@pytest.mark.parametrize("forwarded", ["not-an-address", "203.0.113.9, <script>", "", " , ", "1.2.3.4.5", "x" * 5000])
def test_an_invalid_forwarded_value_falls_back_to_the_peer(settings, forwarded):
    settings.MLSEC_TRUST_PROXY = True
    assert client_ip(request_from("10.0.0.5", forwarded)) == "10.0.0.5"


def test_an_invalid_forwarded_value_never_breaks_a_sign_in(settings, org, client):
    settings.MLSEC_TRUST_PROXY = True
    response = client.post("/accounts/login/", {"username": "lead", "password": PASSWORD},
                           HTTP_X_FORWARDED_FOR="999.1.1.1, <img>")
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="auth.login").ip == "127.0.0.1"


def test_lockout_and_audit_record_the_same_client_address_behind_the_proxy(settings, org, client):
    settings.MLSEC_TRUST_PROXY = True
    client.post("/accounts/login/", {"username": "lead", "password": WRONG}, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert AccessAttempt.objects.get(username="lead").ip_address == "203.0.113.9"
    assert AuditEvent.objects.get(action="auth.login_failed").ip == "203.0.113.9"


def test_a_client_cannot_choose_its_throttling_address_with_a_forwarded_header(settings, org, api):
    """Without a trusted proxy, a new X-Forwarded-For on every request must not buy a new allowance."""
    settings.MLSEC_TRUST_PROXY = False
    cache.clear()
    original = DRFScopedRateThrottle.THROTTLE_RATES
    DRFScopedRateThrottle.THROTTLE_RATES = {**original, "token": "3/minute"}
    try:
        codes = [api().post("/api/v1/auth/token/", {"username": "lead", "password": PASSWORD}, format="json",
                            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(5)]
    finally:
        DRFScopedRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert codes == [200, 200, 200, 429, 429]


def test_behind_the_trusted_proxy_throttling_counts_each_client_address(settings, org, api):
    settings.MLSEC_TRUST_PROXY = True
    cache.clear()
    original = DRFScopedRateThrottle.THROTTLE_RATES
    DRFScopedRateThrottle.THROTTLE_RATES = {**original, "token": "2/minute"}
    try:
        first = [api().post("/api/v1/auth/token/", {"username": "lead", "password": PASSWORD}, format="json",
                            HTTP_X_FORWARDED_FOR="203.0.113.1").status_code for _ in range(3)]
        other = api().post("/api/v1/auth/token/", {"username": "lead", "password": PASSWORD}, format="json",
                           HTTP_X_FORWARDED_FOR="203.0.113.2").status_code
    finally:
        DRFScopedRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert first == [200, 200, 429] and other == 200


def test_lockout_throttling_and_audit_are_wired_to_the_one_client_address_function(settings):
    from rest_framework.settings import api_settings as drf

    from mlsec_portal import middleware
    from mlsec_portal.throttling import ClientAddressIdentMixin

    assert settings.AXES_CLIENT_IP_CALLABLE == "mlsec_portal.clientip.client_ip"
    assert middleware.client_ip is client_ip
    for throttle in drf.DEFAULT_THROTTLE_CLASSES:
        assert issubclass(throttle, ClientAddressIdentMixin), throttle
    from accounts.api.auth import ObtainTokenView

    assert all(issubclass(t, ClientAddressIdentMixin) for t in ObtainTokenView.throttle_classes)
    assert "ip_address" not in settings.AXES_LOCKOUT_PARAMETERS  # never the address alone


def test_the_attempts_django_axes_stores_hold_no_password_or_code(org, client):
    client.post("/accounts/login/", {"username": "lead", "password": "Secret-Guess-1", "otp": "4242-4242"})  # pragma: allowlist secret
    stored = AccessAttempt.objects.get(username="lead")
    assert "Secret-Guess-1" not in stored.post_data and "4242-4242" not in stored.post_data
