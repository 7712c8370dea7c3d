"""OpenID Connect sign-in against the real provider (npm oidc-provider): JIT users, group rules at
every sign-in, audit, protocol checks (state, audience, signature), logout, password policy."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.core.exceptions import SuspiciousOperation

from accounts.choices import IdentitySource, MembershipSource, OrgRole, TeamRole
from accounts.models import Membership, User
from accounts.services import membership_set
from accounts.tests.factories import PASSWORD, TeamFactory, UserFactory
from audit.models import AuditEvent
from identity.models import ExternalIdentity, GroupRule
from identity.oidc import PortalOIDCBackend
from identity.providers import provider_by_slug
from identity.tests.helpers import make_provider, sso_sign_in
from tests.servers.oidc_provider import RelyingParty

pytestmark = pytest.mark.django_db


@pytest.fixture
def corp(oidc_provider):
    return make_provider(oidc_provider)


@pytest.fixture
def fraud():
    team = TeamFactory(slug="fraud", name="Fraud")
    GroupRule.objects.create(group="fraud-leads", team=team, team_role=TeamRole.LEAD)
    GroupRule.objects.create(group="fraud-devs", team=team, team_role=TeamRole.MEMBER)
    GroupRule.objects.create(group="sec-auditors", org_role=OrgRole.AUDITOR)
    return team


def test_first_sign_in_creates_the_user_with_the_role_and_teams_its_groups_map_to(oidc_provider, corp, fraud, client):
    oidc_provider.set_user("ada", password="pw-ada", groups=["fraud-devs", "sec-auditors", "unmapped"],  # pragma: allowlist secret
                           email="ada@corp.test", given_name="Ada", family_name="L")
    response = sso_sign_in(client, oidc_provider, "ada", "pw-ada")
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(email="ada@corp.test")
    assert user.identity_source == IdentitySource.SSO and not user.has_usable_password()
    assert user.org_role == OrgRole.AUDITOR and user.first_name == "Ada"
    membership = Membership.objects.get(user=user)
    assert (membership.team, membership.role, membership.source) == (fraud, TeamRole.MEMBER, MembershipSource.SSO)
    assert ExternalIdentity.objects.get(user=user).issuer == oidc_provider.issuer
    assert client.get("/dashboard/").status_code == 200  # signed in
    actions = set(AuditEvent.objects.filter(changes__extra__via="sso:corp").values_list("action", flat=True))
    assert {"user.create", "user.update", "membership.set", "identity.link"} <= actions
    assert AuditEvent.objects.filter(action="auth.login", changes__extra__channel="oidc").exists()


def test_groups_are_re_evaluated_at_every_sign_in_and_each_change_is_audited(oidc_provider, corp, fraud, client):
    oidc_provider.set_user("bob", password="pw-bob", groups=["fraud-leads", "sec-auditors"])  # pragma: allowlist secret
    sso_sign_in(client, oidc_provider, "bob", "pw-bob")
    bob = User.objects.get(username="bob")
    assert Membership.objects.get(user=bob).role == TeamRole.LEAD and bob.org_role == OrgRole.AUDITOR
    manual_team = TeamFactory(slug="manual")
    admin = UserFactory(org_role=OrgRole.ADMIN)
    membership_set(actor=admin, team=manual_team, user=bob, role=TeamRole.MEMBER)

    oidc_provider.update_user("bob", groups=["fraud-devs"])
    client.logout()
    sso_sign_in(client, oidc_provider, "bob", "pw-bob")
    bob.refresh_from_db()
    assert bob.org_role == OrgRole.NONE
    assert dict(Membership.objects.filter(user=bob).values_list("team__slug", "role")) == {
        "fraud": TeamRole.MEMBER, "manual": TeamRole.MEMBER}  # the manual membership is the portal's own

    oidc_provider.update_user("bob", groups=[])
    client.logout()
    sso_sign_in(client, oidc_provider, "bob", "pw-bob")
    assert list(Membership.objects.filter(user=bob).values_list("team__slug", flat=True)) == ["manual"]
    removal = AuditEvent.objects.get(action="membership.remove", changes__extra__via="sso:corp")
    assert removal.actor_username == "system" and removal.changes["before"]["team"] == "fraud"
    assert AuditEvent.objects.filter(action="user.update", changes__after__org_role="none").exists()


def test_without_any_role_rule_a_role_given_in_the_portal_survives_sign_in(oidc_provider, corp, client):
    oidc_provider.set_user("ivy", password="pw-ivy", groups=["whatever"])  # pragma: allowlist secret
    sso_sign_in(client, oidc_provider, "ivy", "pw-ivy")
    User.objects.filter(username="ivy").update(org_role=OrgRole.AUDITOR)
    client.logout()
    sso_sign_in(client, oidc_provider, "ivy", "pw-ivy")
    assert User.objects.get(username="ivy").org_role == OrgRole.AUDITOR


def test_a_returning_user_is_found_by_issuer_and_subject_not_by_a_new_account(oidc_provider, corp, client):
    oidc_provider.set_user("cy", password="pw-cy", groups=[])  # pragma: allowlist secret
    sso_sign_in(client, oidc_provider, "cy", "pw-cy")
    oidc_provider.update_user("cy", email="cy.new@corp.test")
    client.logout()
    sso_sign_in(client, oidc_provider, "cy", "pw-cy")
    assert User.objects.filter(username__startswith="cy").count() == 1
    assert User.objects.get(username="cy").email == "cy.new@corp.test"


def test_a_provider_e_mail_never_takes_over_a_portal_account(oidc_provider, corp, client):
    local_admin = UserFactory(username="root-admin", email="boss@corp.test", org_role=OrgRole.ADMIN)
    oidc_provider.set_user("mallory", password="pw-m", email="boss@corp.test", groups=[])  # pragma: allowlist secret
    sso_sign_in(client, oidc_provider, "mallory", "pw-m")
    signed_in = User.objects.get(external_identities__subject="mallory")
    assert signed_in.pk != local_admin.pk and signed_in.org_role == OrgRole.NONE
    assert not ExternalIdentity.objects.filter(user=local_admin).exists()


def test_a_deactivated_user_cannot_sign_in(oidc_provider, corp, client):
    oidc_provider.set_user("dee", password="pw-dee", groups=[])  # pragma: allowlist secret
    sso_sign_in(client, oidc_provider, "dee", "pw-dee")
    User.objects.filter(username="dee").update(is_active=False)
    client.logout()
    response = sso_sign_in(client, oidc_provider, "dee", "pw-dee")
    assert response["Location"] == "/accounts/login/"
    assert client.get("/dashboard/").status_code == 302
    assert AuditEvent.objects.filter(action="auth.sso_failed", changes__extra__reason="SignInFailed").exists()


def test_a_callback_with_an_unknown_state_is_refused(oidc_provider, corp, client):
    oidc_provider.set_user("eve", password="pw-eve")  # pragma: allowlist secret
    start = client.get("/accounts/oidc/login/", {"provider": "corp"})
    callback = oidc_provider.sign_in(start["Location"], "eve", "pw-eve")
    query = parse_qs(urlsplit(callback).query)
    forged = client.get("/accounts/oidc/callback/", {"code": query["code"][0], "state": "forged-state"})
    assert forged.status_code == 400
    assert not User.objects.filter(username="eve").exists()


def test_a_replayed_callback_is_refused(oidc_provider, corp, client):
    oidc_provider.set_user("rex", password="pw-rex")  # pragma: allowlist secret
    start = client.get("/accounts/oidc/login/", {"provider": "corp"})
    callback = urlsplit(oidc_provider.sign_in(start["Location"], "rex", "pw-rex"))
    client.get(f"{callback.path}?{callback.query}")
    client.logout()
    replay = client.get(f"{callback.path}?{callback.query}")
    assert replay.status_code in (302, 400) and client.get("/dashboard/").status_code == 302


def test_an_unknown_provider_or_an_unreachable_one_goes_back_to_the_login_page(db, client, settings):
    from identity.models import IdentityProvider

    assert client.get("/accounts/oidc/login/", {"provider": "nope"})["Location"] == "/accounts/login/"
    IdentityProvider.objects.create(slug="down", label="Down", issuer="http://127.0.0.1:9", client_id="x")
    response = client.get("/accounts/oidc/login/", {"provider": "down"}, follow=True)
    assert "did not answer" in response.content.decode()


def test_id_tokens_for_another_client_or_altered_ones_are_rejected(oidc_provider, corp):
    other = oidc_provider.register_client(["http://other.test/cb"])
    oidc_provider.set_user("fay", password="pw-fay")  # pragma: allowlist secret
    _, tokens = RelyingParty(oidc_provider, other).sign_in("fay", "pw-fay")
    backend = PortalOIDCBackend()
    backend._use(provider_by_slug("corp"))
    with pytest.raises(jwt.InvalidAudienceError):
        backend.verify_token(tokens["id_token"])
    header, payload, signature = tokens["id_token"].split(".")
    altered = ".".join([header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature])
    with pytest.raises((jwt.PyJWTError, SuspiciousOperation)):
        backend.verify_token(altered)


def test_logout_ends_the_portal_session_and_sends_the_browser_to_the_provider(oidc_provider, corp, client):
    oidc_provider.set_user("gus", password="pw-gus")  # pragma: allowlist secret
    sso_sign_in(client, oidc_provider, "gus", "pw-gus")
    assert client.get("/accounts/oidc/logout/").status_code == 405  # a link cannot log anyone out
    response = client.post("/accounts/oidc/logout/")
    assert response["Location"].startswith(oidc_provider.discovery()["end_session_endpoint"])
    assert "id_token_hint=" in response["Location"]
    assert response["Clear-Site-Data"] == '"cache"'  # the browser drops the pages and data it kept
    assert client.get("/dashboard/").status_code == 302


def test_environment_provider_and_maps(oidc_provider, client, settings, db):
    from django.core.cache import cache

    team = TeamFactory(slug="vision")
    registered = oidc_provider.register_client(["http://testserver/accounts/oidc/callback/"])
    settings.MLSEC_OIDC_ISSUER = oidc_provider.issuer
    settings.MLSEC_OIDC_CLIENT_ID = registered.client_id
    settings.MLSEC_OIDC_CLIENT_SECRET = registered.client_secret
    settings.MLSEC_OIDC_ROLE_MAP = '{"sec": "officer"}'
    settings.MLSEC_OIDC_TEAM_MAP = '{"vision-leads": {"team": "vision", "role": "lead"}}'
    cache.clear()
    oidc_provider.set_user("hal", password="pw-hal", groups=["sec", "vision-leads"])  # pragma: allowlist secret
    assert "Sign in with single sign-on" in client.get("/accounts/login/").content.decode()
    sso_sign_in(client, oidc_provider, "hal", "pw-hal", slug="env")
    hal = User.objects.get(username="hal")
    assert hal.org_role == OrgRole.OFFICER and Membership.objects.get(user=hal, team=team).role == TeamRole.LEAD


@pytest.mark.parametrize("mode", ["break-glass", "none"])
def test_password_sign_in_can_be_turned_off_except_for_the_break_glass_administrator(client, settings, db, mode):
    settings.MLSEC_PASSWORD_LOGIN = mode
    user = UserFactory(org_role=OrgRole.ADMIN)
    root = UserFactory(is_superuser=True, is_staff=True)
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 200
    response = client.post("/accounts/login/", {"username": root.username, "password": PASSWORD})
    assert (response.status_code == 302) == (mode == "break-glass")
    api = client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})
    assert api.status_code in (400, 401)
