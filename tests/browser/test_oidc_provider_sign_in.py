"""Chromium signs in through the real OpenID Provider of tests/servers (oidc_provider fixture) on its
login form and lands on the client's callback, whose code yields a verified ID token."""

from __future__ import annotations

import pytest

from tests.servers.oidc_provider import RelyingParty


@pytest.fixture
def relying_party(oidc_provider, webhook_receiver):
    return RelyingParty(oidc_provider, oidc_provider.register_client([webhook_receiver.url("/oidc/callback/")]))


@pytest.mark.browser
def test_chromium_signs_in_on_the_login_form_and_reaches_the_client_callback(
        oidc_provider, relying_party, webhook_receiver, watched_page):
    oidc_provider.set_user("frank", password="browser pw", groups=["auditors"])  # pragma: allowlist secret
    url, expected = relying_party.authorize_url()
    page = watched_page.page

    page.goto(url)
    page.fill("#username", "frank")
    page.fill("#password", "browser pw")
    page.click("#sign-in")
    page.wait_for_url(f"{relying_party.client.redirect_uris[0]}**")

    [callback] = [hit for hit in webhook_receiver.wait_for(1) if hit.path == "/oidc/callback/"]  # not favicon.ico
    code = callback.query["code"][0]
    assert callback.query["state"] == [expected["state"]]
    claims = relying_party.verify(relying_party.exchange(code, expected["verifier"]).json()["id_token"],
                                  expected["nonce"])
    assert claims["sub"] == "frank" and claims["groups"] == ["auditors"]
    watched_page.assert_clean()
