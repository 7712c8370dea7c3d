"""Signing in through the real OpenID Provider of tests/servers with Django's test client."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.cache import cache

from identity.models import IdentityProvider

CALLBACK = "http://testserver/accounts/oidc/callback/"


def make_provider(oidc_provider, *, slug="corp", mfa_amr="", public=False, redirect=CALLBACK) -> IdentityProvider:
    client = oidc_provider.register_client([redirect], public=public,
                                           post_logout_redirect_uris=["http://testserver/accounts/login/"])
    cache.clear()
    provider = IdentityProvider(slug=slug, label="Sign in with Corp", issuer=oidc_provider.issuer,
                                client_id=client.client_id, mfa_amr=mfa_amr)
    provider.client_secret = client.client_secret or ""
    provider.save()
    return provider


def sso_sign_in(client, oidc_provider, username, password, *, slug="corp", next_url=""):
    """Start at /accounts/oidc/login/, sign in at the provider, then call the callback; the response."""
    start = client.get("/accounts/oidc/login/", {"provider": slug, **({"next": next_url} if next_url else {})})
    assert start.status_code == 302, start
    callback = oidc_provider.sign_in(start["Location"], username, password)
    parts = urlsplit(callback)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK, callback
    return client.get(f"{parts.path}?{parts.query}")
