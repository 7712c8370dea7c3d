"""The OpenID Provider fixture is a real provider: discovery, authorization code + PKCE through its login
form with plain HTTP, ID tokens whose signature verifies against its JWKS, claims that change between
sign-ins."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from tests.servers.oidc_provider import RelyingParty, SignInError, pkce_pair

PW = "pw"  # a test user's password at the test provider  # pragma: allowlist secret


@pytest.fixture
def relying_party(oidc_provider, webhook_receiver):
    client = oidc_provider.register_client([webhook_receiver.url("/oidc/callback/")])
    return RelyingParty(oidc_provider, client)


def test_discovery_describes_the_provider_on_127_0_0_1_with_pkce_and_rs256(oidc_provider):
    config = requests.get(oidc_provider.discovery_url, timeout=10).json()

    assert config["issuer"] == oidc_provider.issuer
    assert oidc_provider.issuer.startswith("http://127.0.0.1:")
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in config["id_token_signing_alg_values_supported"]
    assert {"groups", "amr", "email"} <= set(config["claims_supported"])
    assert config["end_session_endpoint"] == f"{oidc_provider.issuer}/session/end"
    assert requests.get(config["jwks_uri"], timeout=10).json()["keys"][0]["kty"] == "RSA"


def test_authorization_code_with_pkce_through_the_login_form_yields_a_verified_id_token(
        oidc_provider, relying_party):
    oidc_provider.set_user("alice", password="correct horse", groups=["ml-platform", "fraud-leads"],  # pragma: allowlist secret
                           amr=["pwd", "mfa"], name="Alice Example")

    claims, tokens = relying_party.sign_in("alice", "correct horse")

    assert claims["sub"] == "alice"
    assert claims["groups"] == ["ml-platform", "fraud-leads"]
    assert claims["amr"] == ["pwd", "mfa"]
    assert claims["email"] == "alice@example.test" and claims["name"] == "Alice Example"
    userinfo = requests.get(relying_party.config["userinfo_endpoint"], timeout=10,
                            headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert userinfo["groups"] == ["ml-platform", "fraud-leads"] and userinfo["sub"] == "alice"


def test_a_public_client_signs_in_with_pkce_and_no_secret(oidc_provider, webhook_receiver):
    client = oidc_provider.register_client([webhook_receiver.url("/spa/callback")], public=True)
    assert client.client_secret is None and client.metadata["token_endpoint_auth_method"] == "none"
    oidc_provider.set_user("grace", password=PW, groups=["readers"])
    relying_party = RelyingParty(oidc_provider, client)
    url, expected = relying_party.authorize_url()
    code = relying_party.code_from(oidc_provider.sign_in(url, "grace", PW), expected)

    tokens = requests.post(relying_party.config["token_endpoint"], timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uris[0],
        "client_id": client.client_id, "code_verifier": expected["verifier"]})

    assert tokens.status_code == 200, tokens.text
    assert relying_party.verify(tokens.json()["id_token"], expected["nonce"])["groups"] == ["readers"]


def test_an_id_token_altered_after_signing_fails_verification_against_the_jwks(oidc_provider, relying_party):
    oidc_provider.set_user("mallory", password=PW, groups=["staff"])
    url, expected = relying_party.authorize_url()
    code = relying_party.code_from(oidc_provider.sign_in(url, "mallory", PW), expected)
    id_token = relying_party.exchange(code, expected["verifier"]).json()["id_token"]
    header, payload, signature = id_token.split(".")
    claims = jwt.decode(id_token, options={"verify_signature": False})
    forged_payload = base64.urlsafe_b64encode(
        json.dumps({**claims, "groups": ["portal-admins"]}).encode()).rstrip(b"=").decode()

    with pytest.raises(jwt.InvalidSignatureError):
        relying_party.verify(f"{header}.{forged_payload}.{signature}", expected["nonce"])


def test_a_token_request_without_the_pkce_verifier_or_with_a_wrong_one_is_refused(oidc_provider, relying_party):
    oidc_provider.set_user("bob", password=PW)
    for verifier in (None, pkce_pair()[0]):
        url, expected = relying_party.authorize_url()
        code = relying_party.code_from(oidc_provider.sign_in(url, "bob", PW), expected)
        refused = relying_party.exchange(code, verifier)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_an_authorization_request_without_pkce_is_refused(oidc_provider, relying_party):
    url, _ = relying_party.authorize_url()
    url = url.replace("code_challenge=", "unused=")

    callback = oidc_provider.sign_in(url, "nobody", "-")

    assert parse_qs(urlsplit(callback).query)["error"] == ["invalid_request"]


def test_a_wrong_password_is_refused_on_the_form(oidc_provider, relying_party):
    oidc_provider.set_user("carol", password="right")  # pragma: allowlist secret
    url, _ = relying_party.authorize_url()

    with pytest.raises(SignInError, match="Wrong username or password"):
        oidc_provider.sign_in(url, "carol", "wrong")


def test_groups_changed_at_the_provider_show_in_the_next_sign_in_and_amr_after_the_session_ends(
        oidc_provider, relying_party):
    oidc_provider.set_user("dave", password=PW, groups=["fraud-leads"], amr=["pwd"])
    browser = requests.Session()  # keeps the provider's session cookie, as a browser would
    url, expected = relying_party.authorize_url()
    first = relying_party.code_from(oidc_provider.sign_in(url, "dave", PW, session=browser), expected)
    assert relying_party.verify(relying_party.exchange(first, expected["verifier"]).json()["id_token"],
                                expected["nonce"])["groups"] == ["fraud-leads"]

    oidc_provider.update_user("dave", groups=[], amr=["pwd", "mfa"])
    url, expected = relying_party.authorize_url()
    again = relying_party.code_from(oidc_provider.sign_in(url, "dave", "not asked", session=browser), expected)
    claims = relying_party.verify(relying_party.exchange(again, expected["verifier"]).json()["id_token"],
                                  expected["nonce"])
    assert claims["groups"] == [] and claims["amr"] == ["pwd"]  # same provider session: no new login

    assert oidc_provider.end_sessions("dave") >= 1
    with pytest.raises(SignInError):
        url, _ = relying_party.authorize_url()
        oidc_provider.sign_in(url, "dave", "not the password", session=browser)
    claims, _ = relying_party.sign_in("dave", PW)
    assert claims["amr"] == ["pwd", "mfa"]


def test_a_deleted_user_can_no_longer_sign_in(oidc_provider, relying_party):
    oidc_provider.set_user("erin", password=PW)
    relying_party.sign_in("erin", PW)

    oidc_provider.delete_user("erin")

    url, _ = relying_party.authorize_url()
    with pytest.raises(SignInError, match="Wrong username or password"):
        oidc_provider.sign_in(url, "erin", PW)


def test_the_admin_endpoints_and_client_registration_need_the_admin_token(oidc_provider):
    assert requests.get(f"{oidc_provider.issuer}/__admin/users/alice", timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token-at-all"}
    assert requests.put(f"{oidc_provider.issuer}/__admin/users/x", json={}, headers=wrong, timeout=10).status_code == 401
    refused = requests.post(f"{oidc_provider.issuer}/reg", json={"redirect_uris": ["http://127.0.0.1/cb"]},
                            timeout=10)
    assert refused.status_code in (400, 401) and refused.json()["error"] == "invalid_token"
