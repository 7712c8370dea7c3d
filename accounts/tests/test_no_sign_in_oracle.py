"""No sign-in oracle: a right password with a missing or wrong one-time code answers exactly like a
wrong password, on the login page and on `POST auth/token/` (same status, same body)."""

from __future__ import annotations

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.signin import REFUSED
from accounts.tests.factories import PASSWORD

WRONG = "not-the-password"  # pragma: allowlist secret
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture
def enrolled(settings, org):
    settings.MLSEC_REQUIRE_MFA = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.AXES_FAILURE_LIMIT = 100  # the comparison is about the refusal, not the lock-out
    return TOTPDevice.objects.create(user=org.officer, name="phone", confirmed=True)


def page(client, **fields):
    response = client.post("/accounts/login/", {"username": "officer", **fields})
    return response.status_code, CSRF.sub(b"", response.content)


def token(api, **fields):
    response = api().post("/api/v1/auth/token/", {"username": "officer", **fields}, format="json")
    return response.status_code, response.json()


@pytest.mark.parametrize("otp", [None, "", "000000", "not-a-code", "1234-5678-9abc-def0"])
def test_on_the_login_page_a_right_password_with_a_missing_or_wrong_code_reads_like_a_wrong_password(
        enrolled, client, otp):
    code = {} if otp is None else {"otp": otp}
    right = page(client, password=PASSWORD, **code)
    wrong = page(client, password=WRONG, **code)
    assert right == wrong
    assert right[0] == 200 and REFUSED.encode() in right[1].replace(b"&#x27;", b"'")


@pytest.mark.parametrize("otp", [None, "", "000000", "not-a-code", "1234-5678-9abc-def0"])
def test_on_the_token_endpoint_a_right_password_with_a_missing_or_wrong_code_reads_like_a_wrong_password(
        enrolled, api, otp):
    code = {} if otp is None else {"otp": otp}
    right = token(api, password=PASSWORD, **code)
    wrong = token(api, password=WRONG, **code)
    assert right == wrong == (400, {"detail": REFUSED})


def test_the_page_and_the_api_refuse_with_the_same_sentence(enrolled, client, api):
    _, body = page(client, password=PASSWORD, otp="000000")
    assert REFUSED.encode() in body.replace(b"&#x27;", b"'")
    assert token(api, password=PASSWORD, otp="000000")[1]["detail"] == REFUSED


def test_an_unknown_username_reads_like_a_known_one(enrolled, api):
    assert token(api, password=WRONG) == (400, {"detail": REFUSED})
    response = api().post("/api/v1/auth/token/", {"username": "nobody-here", "password": WRONG}, format="json")
    assert (response.status_code, response.json()) == (400, {"detail": REFUSED})
