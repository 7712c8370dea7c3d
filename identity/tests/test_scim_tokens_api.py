"""`scim-tokens/`: administrators only; the key shown once, stored as a digest, revocable; audited."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.choices import OrgRole, TeamRole
from accounts.tests.factories import MembershipFactory, UserFactory
from audit.models import AuditEvent
from identity.models import ScimToken

pytestmark = pytest.mark.django_db


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_administrator_creates_lists_and_revokes_a_scim_token(client):
    admin = UserFactory(org_role=OrgRole.ADMIN)
    api = _client(admin)
    created = api.post("/api/v1/scim-tokens/", {"name": "Okta"}, format="json")
    assert created.status_code == 201
    key = created.json()["token"]
    token = ScimToken.objects.get()
    assert token.digest == ScimToken.digest_of(key) and key not in str(ScimToken.objects.values().get())
    listed = api.get("/api/v1/scim-tokens/").json()
    assert key not in str(listed) and "Okta" in str(listed)
    assert client.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    assert api.delete(f"/api/v1/scim-tokens/{token.pk}/").status_code == 204
    assert client.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    actions = list(AuditEvent.objects.filter(object_type="identity.scimtoken").order_by("seq").values_list("action", flat=True))
    assert actions == ["scim_token.create", "scim_token.revoke"]
    assert key not in str(AuditEvent.objects.values_list("changes", flat=True))


@pytest.mark.parametrize("role", [OrgRole.OFFICER, OrgRole.AUDITOR, OrgRole.NONE, "lead"])
def test_nobody_but_an_administrator_reaches_scim_tokens(role):
    user = UserFactory(org_role=OrgRole.NONE if role == "lead" else role)
    if role == "lead":
        MembershipFactory(user=user, role=TeamRole.LEAD)
    api = _client(user)
    assert api.get("/api/v1/scim-tokens/").status_code == 403
    assert api.post("/api/v1/scim-tokens/", {"name": "x"}, format="json").status_code == 403
    token = ScimToken.objects.create(name="t", digest=ScimToken.digest_of("k"))
    assert api.delete(f"/api/v1/scim-tokens/{token.pk}/").status_code == 403
    assert ScimToken.objects.filter(revoked_at__isnull=True).count() == 1


def test_a_nameless_token_is_a_400():
    api = _client(UserFactory(org_role=OrgRole.ADMIN))
    assert api.post("/api/v1/scim-tokens/", {"name": ""}, format="json").status_code == 400
    assert not ScimToken.objects.exists()
