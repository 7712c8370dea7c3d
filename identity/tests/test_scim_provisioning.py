"""SCIM provisioning through /scim/v2/ (scim2-server over the portal's database): users created,
updated, moved between groups (→ teams and roles by the group rules), deprovisioned at once."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.choices import IdentitySource, MembershipSource, OrgRole, TeamRole
from accounts.models import APIToken, Membership, User
from accounts.tests.factories import TeamFactory
from accounts.tokens import token_issue
from audit.models import AuditEvent
from identity.models import GroupRule, ScimToken

pytestmark = pytest.mark.django_db
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def scim(db):
    ScimToken.objects.create(name="okta", digest=ScimToken.digest_of("scim-key"))
    client = Client()

    def call(method, path, body=None, key="scim-key"):
        response = getattr(client, method)(f"/scim/v2/{path}", data=json.dumps(body) if body is not None else None,
                                           content_type="application/scim+json", HTTP_AUTHORIZATION=f"Bearer {key}")
        return response.status_code, (response.json() if response.content else None)

    return call


@pytest.fixture
def rules():
    fraud, vision = TeamFactory(slug="fraud"), TeamFactory(slug="vision")
    GroupRule.objects.create(group="Fraud", team=fraud, team_role=TeamRole.MEMBER)
    GroupRule.objects.create(group="Vision leads", team=vision, team_role=TeamRole.LEAD)
    GroupRule.objects.create(group="Security", org_role=OrgRole.OFFICER)
    return fraud, vision


def _user(scim, name="kim", **extra):
    status, body = scim("post", "Users", {"schemas": [USER], "userName": name, "password": "ignored-pw",  # pragma: allowlist secret
                                          "name": {"givenName": "Kim", "familyName": "Ray"},
                                          "emails": [{"value": f"{name}@corp.test", "primary": True}], **extra})
    assert status == 201, body
    return body


def test_a_provisioned_user_is_a_portal_user_without_a_password(scim):
    body = _user(scim)
    user = User.objects.get(username="kim")
    assert (user.email, user.first_name, user.identity_source) == ("kim@corp.test", "Kim", IdentitySource.SCIM)
    assert not user.has_usable_password() and "password" not in body
    from identity.models import ScimResource

    assert "password" not in ScimResource.objects.get(scim_id=body["id"]).data  # never stored
    assert AuditEvent.objects.filter(action="user.create", changes__extra__via="scim:okta").exists()
    status, updated = scim("patch", f"Users/{body['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "name.givenName", "value": "Kimberly"}]})
    assert status == 204 and User.objects.get(username="kim").first_name == "Kimberly"
    assert AuditEvent.objects.filter(action="user.update", changes__after__first_name="Kimberly").exists()


def test_group_membership_maps_to_teams_and_roles_and_moving_groups_moves_memberships(scim, rules):
    fraud, vision = rules
    kim = _user(scim)
    status, group = scim("post", "Groups", {"schemas": [GROUP], "displayName": "Fraud",
                                            "members": [{"value": kim["id"]}]})
    assert status == 201, group
    user = User.objects.get(username="kim")
    membership = Membership.objects.get(user=user)
    assert (membership.team, membership.role, membership.source) == (fraud, TeamRole.MEMBER, MembershipSource.SCIM)

    _, security = scim("post", "Groups", {"schemas": [GROUP], "displayName": "Security", "members": [{"value": kim["id"]}]})
    _, leads = scim("post", "Groups", {"schemas": [GROUP], "displayName": "Vision leads", "members": []})
    user.refresh_from_db()
    assert user.org_role == OrgRole.OFFICER
    # Move: out of Fraud, into Vision leads.
    scim("patch", f"Groups/{group['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": f'members[value eq "{kim["id"]}"]'}]})
    scim("patch", f"Groups/{leads['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": kim["id"]}]}]})
    assert dict(Membership.objects.filter(user=user).values_list("team__slug", "role")) == {"vision": TeamRole.LEAD}
    status, _ = scim("delete", f"Groups/{security['id']}")
    assert status == 204
    user.refresh_from_db()
    assert user.org_role == OrgRole.NONE
    assert AuditEvent.objects.filter(action="membership.remove", changes__extra__via="scim:okta").exists()


def test_deprovisioning_deactivates_and_ends_sessions_and_tokens_at_once(scim):
    kim = _user(scim)
    user = User.objects.get(username="kim")
    browser = Client()
    browser.force_login(user)
    assert browser.get("/api/v1/projects/").status_code == 200
    _, key = token_issue(user=user, mfa_verified=False)
    assert Client().get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200

    status, body = scim("patch", f"Users/{kim['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})
    assert status == 204 and scim("get", f"Users/{kim['id']}")[1]["active"] is False
    user.refresh_from_db()
    assert not user.is_active
    assert browser.get("/api/v1/projects/").status_code in (401, 403)
    assert Client().get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert not APIToken.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(action="user.deprovision")
    assert event.changes["extra"]["sessions_ended"] == 1


def test_deleting_a_user_deprovisions_it_and_keeps_its_history(scim, rules):
    kim = _user(scim)
    scim("post", "Groups", {"schemas": [GROUP], "displayName": "Fraud", "members": [{"value": kim["id"]}]})
    status, _ = scim("delete", f"Users/{kim['id']}")
    assert status == 204
    user = User.objects.get(username="kim")
    assert not user.is_active and not Membership.objects.filter(user=user).exists()
    assert scim("get", f"Users/{kim['id']}")[0] == 404


def test_a_username_of_a_portal_account_cannot_be_taken_over(scim):
    User.objects.create_user("root-admin", password="x" * 20, org_role=OrgRole.ADMIN)  # pragma: allowlist secret
    status, body = scim("post", "Users", {"schemas": [USER], "userName": "root-admin"})
    assert status == 409, body
    assert User.objects.get(username="root-admin").identity_source == IdentitySource.LOCAL


@pytest.mark.parametrize("header", ["", "Bearer wrong", "Token scim-key", "Basic c2NpbTprZXk="])
def test_scim_needs_its_own_valid_token(scim, header, django_user_model):
    client = Client()
    assert client.get("/scim/v2/Users", HTTP_AUTHORIZATION=header).status_code == 401
    admin = django_user_model.objects.create_user("adm", org_role=OrgRole.ADMIN)
    client.force_login(admin)  # a session is no SCIM credential either
    assert client.get("/scim/v2/Users").status_code == 401
    _, key = token_issue(user=admin, mfa_verified=True)
    assert Client().get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_a_revoked_scim_token_is_refused_and_a_scim_token_reaches_nothing_else(scim):
    from django.utils import timezone

    assert scim("get", "Users")[0] == 200
    assert Client().get("/api/v1/projects/", HTTP_AUTHORIZATION="Bearer scim-key").status_code == 401
    assert Client().get("/api/v1/projects/", HTTP_AUTHORIZATION="Token scim-key").status_code == 401
    ScimToken.objects.update(revoked_at=timezone.now())
    assert scim("get", "Users")[0] == 401


def test_bad_input_is_a_scim_400_and_changes_nothing(scim):
    status, body = scim("post", "Users", {"schemas": [USER]})
    assert status == 400 and body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    client = Client()
    response = client.post("/scim/v2/Users", data=b"{not json", content_type="application/scim+json",
                           HTTP_AUTHORIZATION="Bearer scim-key")
    assert response.status_code == 400
    assert not User.objects.filter(identity_source=IdentitySource.SCIM).exists()
