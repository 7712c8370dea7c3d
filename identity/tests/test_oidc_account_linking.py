"""Which portal user a provider's new subject becomes: never someone else's account by an e-mail address.

A SCIM-provisioned user is linked to the first provider subject that asserts its *verified* e-mail. A second
provider (or a second subject) asserting the same address, or any provider that does not say it verified
the address, gets an account of its own; profile claims of the wrong type are ignored, never a 500.
"""

import pytest

from accounts.choices import IdentitySource
from accounts.models import User
from identity.models import ExternalIdentity
from identity.oidc import PortalOIDCBackend
from identity.providers import ProviderConfig

pytestmark = pytest.mark.django_db


def backend(issuer: str) -> PortalOIDCBackend:
    # The claims as a verified ID token gives them to `_user_for` (the protocol steps are tested against the
    # real provider in test_oidc_sign_in.py; two providers asserting one address need two issuers here).
    chosen = PortalOIDCBackend()
    chosen.provider = ProviderConfig(slug=issuer.rsplit("/", 1)[-1], label=issuer, issuer=issuer, client_id="portal",
                                     client_secret="", scopes="openid email", groups_claim="groups",
                                     mfa_amr=frozenset(), mfa_acr=frozenset())
    chosen.metadata = {"issuer": issuer}
    return chosen


@pytest.fixture
def provisioned():
    return User.objects.create(username="boss", email="boss@corp.test", identity_source=IdentitySource.SCIM)


def test_the_first_verified_subject_links_to_the_provisioned_user(provisioned):
    user = backend("https://idp-a.test/a")._user_for({"sub": "boss-a", "email": "boss@corp.test", "email_verified": True})
    assert user == provisioned
    assert ExternalIdentity.objects.filter(user=provisioned, issuer="https://idp-a.test/a", subject="boss-a").exists()


def test_a_second_provider_asserting_the_same_e_mail_never_takes_a_linked_account_over(provisioned):
    backend("https://idp-a.test/a")._user_for({"sub": "boss-a", "email": "boss@corp.test", "email_verified": True})
    other = backend("https://idp-b.test/b")._user_for({"sub": "mallory", "email": "boss@corp.test",
                                                       "email_verified": True})
    assert other != provisioned and other.identity_source == IdentitySource.SSO
    assert list(ExternalIdentity.objects.filter(user=provisioned).values_list("subject", flat=True)) == ["boss-a"]


def test_a_second_subject_of_the_same_provider_is_not_linked_either(provisioned):
    backend("https://idp-a.test/a")._user_for({"sub": "boss-a", "email": "boss@corp.test", "email_verified": True})
    other = backend("https://idp-a.test/a")._user_for({"sub": "boss-2", "email": "boss@corp.test",
                                                       "email_verified": True})
    assert other != provisioned


@pytest.mark.parametrize("verified", [None, False, "true", 1])
def test_an_e_mail_the_provider_did_not_say_it_verified_links_nothing_and_is_not_stored(provisioned, verified):
    claims = {"sub": "someone", "email": "boss@corp.test"}
    if verified is not None:
        claims["email_verified"] = verified
    user = backend("https://idp-a.test/a")._user_for(claims)
    assert user != provisioned and user.email == ""
    assert not ExternalIdentity.objects.filter(user=provisioned).exists()


def test_profile_claims_of_the_wrong_type_are_ignored_not_a_server_error():
    user = backend("https://idp-a.test/a")._user_for({"sub": "odd", "given_name": 5, "family_name": ["x"],
                                                      "email": {"a": 1}, "preferred_username": 7})
    assert user.first_name == "" and user.last_name == "" and user.email == "" and user.username


def test_an_unverified_e_mail_does_not_replace_the_address_notifications_go_to():
    chosen = backend("https://idp-a.test/a")
    user = chosen._user_for({"sub": "cy", "email": "cy@corp.test", "email_verified": True})
    chosen._refresh_profile(user, {"sub": "cy", "email": "cy@evil.test"})
    user.refresh_from_db()
    assert user.email == "cy@corp.test"
    chosen._refresh_profile(user, {"sub": "cy", "email": "cy.new@corp.test", "email_verified": True})
    user.refresh_from_db()
    assert user.email == "cy.new@corp.test"
