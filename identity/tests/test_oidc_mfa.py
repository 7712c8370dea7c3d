"""MFA with SSO: the provider's `amr` proof counts when so configured; otherwise the portal's TOTP."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import OrgRole
from accounts.mfa import has_confirmed_device
from accounts.models import User
from accounts.tests.otp import current_code
from identity.models import GroupRule, IdentityProviderMFA
from identity.tests.helpers import make_provider, sso_sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def mfa_on(settings):
    settings.MLSEC_REQUIRE_MFA = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    cache.clear()


@pytest.fixture
def officers(db):
    GroupRule.objects.create(group="sec-officers", org_role=OrgRole.OFFICER)


def _enrolled(username):
    user = User.objects.get(username=username)
    return TOTPDevice.objects.create(user=user, name="app", confirmed=True)


def test_an_officer_whose_provider_proves_mfa_is_not_asked_for_the_totp(oidc_provider, officers, client):
    make_provider(oidc_provider, mfa_amr="mfa")
    oidc_provider.set_user("olga", password="pw-o", groups=["sec-officers"], amr=["pwd", "mfa"])  # pragma: allowlist secret
    response = sso_sign_in(client, oidc_provider, "olga", "pw-o")
    assert response["Location"] == "/"
    assert client.get("/dashboard/").status_code == 200
    olga = User.objects.get(username="olga")
    assert olga.is_officer and not has_confirmed_device(olga)  # the proof is no authenticator
    assert IdentityProviderMFA.objects.filter(user=olga).exists()
    assert client.get("/api/v1/projects/").status_code == 200  # the API's second-factor gate accepts the session


def test_an_officer_whose_provider_says_no_mfa_is_asked_for_the_portal_totp(oidc_provider, officers, client):
    make_provider(oidc_provider, mfa_amr="mfa")
    oidc_provider.set_user("otto", password="pw-t", groups=["sec-officers"], amr=["pwd"])  # pragma: allowlist secret
    first = sso_sign_in(client, oidc_provider, "otto", "pw-t")
    assert first["Location"] == "/accounts/mfa/enrol/"  # no authenticator yet: enrol first
    assert client.get("/dashboard/")["Location"] == "/accounts/mfa/enrol/"
    device = _enrolled("otto")
    client.logout()
    second = sso_sign_in(client, oidc_provider, "otto", "pw-t")
    assert second["Location"] == "/accounts/oidc/mfa/"
    assert client.get("/dashboard/")["Location"] == "/accounts/oidc/mfa/"
    assert client.get("/api/v1/projects/").status_code == 403
    wrong = client.post("/accounts/oidc/mfa/", {"otp": "000000" if current_code(device) != "000000" else "111111"})
    assert wrong.status_code == 200 and "not valid" in wrong.content.decode()
    right = client.post("/accounts/oidc/mfa/", {"otp": current_code(device)})
    assert right.status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_amr_counts_only_when_the_provider_is_configured_to_trust_it(oidc_provider, officers, client):
    make_provider(oidc_provider, mfa_amr="")
    oidc_provider.set_user("pia", password="pw-p", groups=["sec-officers"], amr=["pwd", "mfa"])  # pragma: allowlist secret
    response = sso_sign_in(client, oidc_provider, "pia", "pw-p")
    assert response["Location"] == "/accounts/mfa/enrol/"
    assert client.get("/dashboard/").status_code == 302


def test_a_user_without_a_privileged_role_needs_no_second_factor(oidc_provider, client):
    make_provider(oidc_provider, mfa_amr="mfa")
    oidc_provider.set_user("quin", password="pw-q", groups=[], amr=["pwd"])  # pragma: allowlist secret
    assert sso_sign_in(client, oidc_provider, "quin", "pw-q")["Location"] == "/"
    assert client.get("/api/v1/projects/").status_code == 200


def test_repeated_wrong_codes_after_sso_end_the_session(oidc_provider, officers, client, settings):
    make_provider(oidc_provider, mfa_amr="mfa")
    oidc_provider.set_user("rae", password="pw-r", groups=["sec-officers"], amr=["pwd"])  # pragma: allowlist secret
    sso_sign_in(client, oidc_provider, "rae", "pw-r")
    device = _enrolled("rae")
    wrong = "000000" if current_code(device) != "000000" else "111111"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/oidc/mfa/", {"otp": wrong})
    response = client.post("/accounts/oidc/mfa/", {"otp": current_code(device)})
    assert response["Location"] == "/accounts/login/"
    assert client.get("/dashboard/")["Location"].startswith("/accounts/login/")


def test_a_member_who_enrolled_by_choice_is_asked_for_the_code_after_sso_too(oidc_provider, client):
    """A password sign-in asks everyone holding an authenticator for its code; SSO must not skip it."""
    make_provider(oidc_provider, mfa_amr="mfa")
    oidc_provider.set_user("vic", password="pw-v", groups=[], amr=["pwd"])  # pragma: allowlist secret
    assert sso_sign_in(client, oidc_provider, "vic", "pw-v")["Location"] == "/"
    device = _enrolled("vic")  # no privileged role: enrolled voluntarily
    client.logout()
    assert sso_sign_in(client, oidc_provider, "vic", "pw-v")["Location"] == "/accounts/oidc/mfa/"
    assert client.get("/")["Location"] == "/accounts/oidc/mfa/"
    assert client.get("/api/v1/projects/").status_code == 403
    assert client.post("/accounts/oidc/mfa/", {"otp": current_code(device)}).status_code == 302
    assert client.get("/").status_code in (200, 302) and client.get("/").get("Location") != "/accounts/oidc/mfa/"
    assert client.get("/api/v1/projects/").status_code == 200


def test_a_member_whose_provider_proves_mfa_is_not_asked_again(oidc_provider, client):
    make_provider(oidc_provider, mfa_amr="mfa")
    oidc_provider.set_user("wyn", password="pw-w", groups=[], amr=["pwd", "mfa"])  # pragma: allowlist secret
    sso_sign_in(client, oidc_provider, "wyn", "pw-w")
    _enrolled("wyn")
    client.logout()
    assert sso_sign_in(client, oidc_provider, "wyn", "pw-w")["Location"] == "/"
    assert client.get("/api/v1/projects/").status_code == 200
