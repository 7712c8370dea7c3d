"""Invitations: by e-mail, single-use, expiring; a used or expired link creates nothing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from accounts.choices import OrgRole
from accounts.models import User
from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from identity.models import Invitation

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-long-new-passphrase-7"  # pragma: allowlist secret


def _invite(client, mailoutbox, email="new@corp.test"):
    client.force_login(UserFactory(org_role=OrgRole.ADMIN))
    client.post("/people/", {"email": email, "org_role": "auditor"})
    client.logout()
    [mail] = mailoutbox
    return re.search(r"http://testserver(/accounts/invitation/[^/\s]+/)", mail.body).group(1)


def test_an_invitation_link_creates_the_account_once(client, mailoutbox):
    link = _invite(client, mailoutbox)
    assert Invitation.objects.get().digest not in link  # only the digest is stored
    assert client.get(link).status_code == 200
    response = client.post(link, {"username": "newbie", "password": NEW_PASSWORD})
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert (user.email, user.org_role) == ("new@corp.test", OrgRole.AUDITOR) and user.check_password(NEW_PASSWORD)
    again = client.post(link, {"username": "newbie2", "password": NEW_PASSWORD})
    assert again.status_code == 404 and not User.objects.filter(username="newbie2").exists()
    assert AuditEvent.objects.filter(action="invitation.accept").count() == 1


def test_an_expired_invitation_creates_nothing(client, mailoutbox):
    link = _invite(client, mailoutbox)
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.post(link, {"username": "late", "password": NEW_PASSWORD}).status_code == 404
    assert not User.objects.filter(username="late").exists()


def test_a_weak_password_or_a_taken_username_is_a_form_error(client, mailoutbox):
    link = _invite(client, mailoutbox)
    UserFactory(username="taken")
    assert "taken" in client.post(link, {"username": "taken", "password": NEW_PASSWORD}).content.decode()
    weak = client.post(link, {"username": "fresh", "password": "short"})
    assert weak.status_code == 200 and not User.objects.filter(username="fresh").exists()
    assert Invitation.objects.get().used_at is None


def test_a_mistyped_link_is_a_404(client):
    assert client.get("/accounts/invitation/nope/").status_code == 404


def test_an_administrator_revokes_an_invitation_and_its_link_creates_nothing(client, mailoutbox):
    link = _invite(client, mailoutbox)
    invitation = Invitation.objects.get()
    admin = invitation.created_by
    client.force_login(UserFactory(org_role=OrgRole.OFFICER))
    assert client.post(f"/people/invitations/{invitation.pk}/revoke/").status_code == 403  # officers cannot
    client.force_login(admin)
    assert "Revoke" in client.get("/people/").content.decode()
    assert client.post(f"/people/invitations/{invitation.pk}/revoke/").status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_by == admin and invitation.revoked_at is not None
    assert AuditEvent.objects.filter(action="invitation.revoke").count() == 1
    assert f"/people/invitations/{invitation.pk}/revoke/" not in client.get("/people/").content.decode()  # not pending
    again = client.post(f"/people/invitations/{invitation.pk}/revoke/", follow=True)  # a second click
    assert "used or revoked already" in again.content.decode()
    assert AuditEvent.objects.filter(action="invitation.revoke").count() == 1
    client.logout()
    assert client.get(link).status_code == 404
    assert client.post(link, {"username": "ghost", "password": NEW_PASSWORD}).status_code == 404
    assert not User.objects.filter(username="ghost").exists()


@pytest.mark.parametrize("change", ["demoted", "deactivated"])
def test_an_invitation_stops_working_when_its_inviter_is_no_longer_an_administrator(client, mailoutbox, change):
    link = _invite(client, mailoutbox)
    inviter = Invitation.objects.get().created_by
    if change == "demoted":
        User.objects.filter(pk=inviter.pk).update(org_role=OrgRole.NONE)
    else:
        User.objects.filter(pk=inviter.pk).update(is_active=False)
    assert client.get(link).status_code == 404
    assert client.post(link, {"username": "orphan", "password": NEW_PASSWORD}).status_code == 404
    assert not User.objects.filter(username="orphan").exists()
