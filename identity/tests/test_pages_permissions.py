"""Who may manage users, teams' memberships, identity providers, group rules and SCIM tokens in the
pages: every role against every action, the change made (or not), and its audit event."""

from __future__ import annotations

import pytest

from accounts.choices import IdentitySource, MembershipSource, OrgRole, TeamRole
from accounts.models import Membership, User
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from audit.models import AuditEvent
from identity.models import GroupRule, IdentityProvider, Invitation, ScimToken

pytestmark = pytest.mark.django_db
ROLES = ["admin", "officer", "auditor", "lead", "member", "none"]


@pytest.fixture
def world():
    team = TeamFactory(slug="fraud", name="Fraud")
    target = UserFactory(username="target")
    return team, target


def _actor(role, team):
    if role in ("lead", "member"):
        user = UserFactory(org_role=OrgRole.NONE)
        MembershipFactory(user=user, team=team, role=TeamRole.LEAD if role == "lead" else TeamRole.MEMBER)
        return user
    return UserFactory(org_role=role)


def _do(client, action, team, target):
    """Perform `action`; return (response status, whether the change happened, audit action expected)."""
    if action == "list people":
        return client.get("/people/").status_code, None, None
    if action == "change a role":
        r = client.post(f"/people/{target.pk}/", {"org_role": "auditor", "is_active": "on"})
        return r.status_code, User.objects.get(pk=target.pk).org_role == "auditor", "user.update"
    if action == "invite":
        r = client.post("/people/", {"email": "new@corp.test", "org_role": "none"})
        return r.status_code, Invitation.objects.exists(), "invitation.create"
    if action == "see members":
        return client.get(f"/teams/{team.slug}/members/").status_code, None, None
    if action == "add a member":
        r = client.post(f"/teams/{team.slug}/members/", {"user": target.pk, "role": "member"})
        return r.status_code, Membership.objects.filter(team=team, user=target).exists(), "membership.set"
    if action == "remove a member":
        Membership.objects.get_or_create(team=team, user=target, defaults={"role": "member"})
        r = client.post(f"/teams/{team.slug}/members/{target.pk}/remove/")
        return r.status_code, not Membership.objects.filter(team=team, user=target).exists(), "membership.remove"
    if action == "see identity settings":
        return client.get("/identity/").status_code, None, None
    if action == "add a provider":
        r = client.post("/identity/", {"form": "provider", "slug": "okta", "label": "Okta", "client_id": "c",
                                       "issuer": "https://corp.okta.com", "client_secret": "s3cr3t-value",  # pragma: allowlist secret
                                       "scopes": "openid email groups", "groups_claim": "groups", "enabled": "on"})
        return r.status_code, IdentityProvider.objects.exists(), "identity_provider.create"
    if action == "add a rule":
        r = client.post("/identity/", {"form": "rule", "group": "g", "org_role": "auditor"})
        return r.status_code, GroupRule.objects.exists(), "group_rule.create"
    if action == "make a SCIM token":
        r = client.post("/identity/", {"form": "token", "name": "Okta"})
        return r.status_code, ScimToken.objects.exists(), "scim_token.create"
    if action == "revoke a SCIM token":
        token = ScimToken.objects.create(name="t", digest=ScimToken.digest_of("k"))
        r = client.post(f"/identity/token/{token.pk}/delete/")
        return r.status_code, ScimToken.objects.get(pk=token.pk).revoked_at is not None, "scim_token.revoke"
    raise AssertionError(action)


ALLOWED = {
    "list people": {"admin"}, "change a role": {"admin"}, "invite": {"admin"},
    "see members": {"admin", "officer"}, "add a member": {"admin", "officer"}, "remove a member": {"admin", "officer"},
    "see identity settings": {"admin"}, "add a provider": {"admin"}, "add a rule": {"admin"},
    "make a SCIM token": {"admin"}, "revoke a SCIM token": {"admin"},
}


@pytest.mark.parametrize("action", list(ALLOWED))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_each_action(client, world, role, action, mailoutbox):
    team, target = world
    actor = _actor(role, team)
    client.force_login(actor)
    status, changed, audit_action = _do(client, action, team, target)
    if role in ALLOWED[action]:
        assert status in (200, 302), (status, role, action)
        if changed is not None:
            assert changed, (role, action)
            assert AuditEvent.objects.filter(action=audit_action, actor=actor).exists()
    else:
        assert status in (403, 404), (status, role, action)
        if changed is not None:
            assert not changed, (role, action)
            assert not AuditEvent.objects.filter(action=audit_action).exists()


@pytest.mark.parametrize("action", ["add", "remove"])
def test_an_officer_never_changes_their_own_membership(client, world, action):
    team, _ = world
    officer = UserFactory(org_role=OrgRole.OFFICER)
    client.force_login(officer)
    if action == "add":
        response = client.post(f"/teams/{team.slug}/members/", {"user": officer.pk, "role": "lead"})
        assert response.status_code == 200 and "Nobody adds" in response.content.decode()
        assert not Membership.objects.filter(user=officer).exists()
    else:
        Membership.objects.create(team=team, user=officer, role="member")
        client.post(f"/teams/{team.slug}/members/{officer.pk}/remove/")
        assert Membership.objects.filter(user=officer).exists()


def test_a_membership_from_a_group_rule_refuses_manual_edits_and_shows_its_source(client, world):
    team, target = world
    Membership.objects.create(team=team, user=target, role="member", source=MembershipSource.SCIM)
    client.force_login(UserFactory(org_role=OrgRole.ADMIN))
    page = client.get(f"/teams/{team.slug}/members/").content.decode()
    assert "SCIM group rule" in page
    changed = client.post(f"/teams/{team.slug}/members/", {"user": target.pk, "role": "lead"})
    assert "comes from a group at the identity provider" in changed.content.decode()
    client.post(f"/teams/{team.slug}/members/{target.pk}/remove/")
    assert Membership.objects.get(team=team, user=target).role == "member"


def test_the_role_of_a_provider_managed_account_is_not_edited_by_hand_once_rules_grant_roles(client, world):
    _, target = world
    User.objects.filter(pk=target.pk).update(identity_source=IdentitySource.SSO)
    client.force_login(UserFactory(org_role=OrgRole.ADMIN))
    client.post(f"/people/{target.pk}/", {"org_role": "auditor", "is_active": "on"})
    assert User.objects.get(pk=target.pk).org_role == OrgRole.AUDITOR  # no role rule: the portal sets roles
    GroupRule.objects.create(group="sec", org_role=OrgRole.OFFICER)
    client.post(f"/people/{target.pk}/", {"org_role": "admin", "is_active": "on"})
    assert User.objects.get(pk=target.pk).org_role == OrgRole.AUDITOR
    client.post(f"/people/{target.pk}/", {"org_role": "auditor"})  # deactivating stays possible (an emergency)
    assert not User.objects.get(pk=target.pk).is_active


def test_the_client_secret_is_stored_encrypted_and_never_shown_or_audited(client):
    client.force_login(UserFactory(org_role=OrgRole.ADMIN))
    secret = "very-secret-client-value"  # pragma: allowlist secret
    client.post("/identity/", {"form": "provider", "slug": "okta", "label": "Okta", "client_id": "c",
                               "issuer": "https://corp.okta.com/", "client_secret": secret,
                               "scopes": "openid email groups", "groups_claim": "groups", "enabled": "on"})
    provider = IdentityProvider.objects.get()
    assert provider.client_secret == secret and secret not in provider.client_secret_sealed
    assert provider.issuer == "https://corp.okta.com"
    assert secret not in client.get("/identity/").content.decode()
    assert secret not in str(AuditEvent.objects.values_list("changes", flat=True))
    bad = client.post("/identity/", {"form": "provider", "slug": "x", "label": "X", "client_id": "c",
                                     "issuer": "not a url", "scopes": "email", "groups_claim": "groups"})
    assert bad.status_code == 200 and IdentityProvider.objects.count() == 1
