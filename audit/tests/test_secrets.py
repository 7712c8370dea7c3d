"""Secrets stay secret: none reach the audit trail, none already there leave it, none show in the admin."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tokens import token_issue
from audit.models import AuditChainHead, AuditEvent
from audit.services import audit_alone, verify_chain

HASH_PREFIXES = ("md5$", "pbkdf2_sha256$", "argon2$", "bcrypt")


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(superuser):
    """A superuser's admin session, verified with a second factor (as the admin site may require)."""
    client = Client()
    device = TOTPDevice.objects.create(user=superuser, name="root phone", confirmed=True)
    client.force_login(superuser)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def secrets_of(org):
    """A TOTP device, recovery codes and an API token belonging to the officer."""
    totp = TOTPDevice.objects.create(user=org.officer, name="officer phone", confirmed=True)
    static = StaticDevice.objects.create(user=org.officer, name="recovery codes", confirmed=True)
    codes = [StaticToken.objects.create(device=static, token=f"rc{i}q7x2m9").token for i in range(3)]
    issued, key = token_issue(user=org.officer, mfa_verified=True)
    # The key exists only here (the database keeps its digest, which is the token's primary key).
    token = SimpleNamespace(key=key, obj=issued, digest=issued.digest)
    return {"totp": totp, "static": static, "codes": codes, "token": token}


def leaked(content: bytes, secrets_of) -> list[str]:
    text = content.decode()
    candidates = [secrets_of["totp"].key, secrets_of["token"].key, *secrets_of["codes"]]
    return [s for s in candidates if s in text]


def test_creating_a_user_in_the_admin_records_no_password_hash(admin_client):
    response = admin_client.post("/admin/accounts/user/add/", {
        "username": "newcomer", "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true",  # pragma: allowlist secret
        "email": "newcomer@example.org", "org_role": "none",
    })
    assert response.status_code == 302, response.content[:500]
    from accounts.models import User

    stored = User.objects.get(username="newcomer").password
    event = AuditEvent.objects.get(action="admin:user.create")
    recorded = json.dumps(event.changes)
    assert stored not in recorded and not any(prefix in recorded for prefix in HASH_PREFIXES)
    assert event.changes["after"]["password"] == "[redacted]"
    assert event.changes["after"]["username"] == "newcomer"  # everything else is still recorded
    assert verify_chain().ok


def test_no_secret_is_written_to_the_trail_whatever_it_is_called(org, secrets_of):
    token = secrets_of["token"]
    event = audit_alone(actor=org.admin, action="test.secrets", obj=token.obj, after={
        "client_secret": "s3cr3t-value-123", "nested": {"recovery_codes": ["abc123def", "ghi456jkl"]},  # pragma: allowlist secret
        "note": "pbkdf2_sha256$720000$salt$hash=", "pem": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n",  # pragma: allowlist secret
        "setup": "otpauth://totp/mlsec:officer?secret=JBSWY3DPEHPK3PXP", "risk_tier": "high", "password": "",
    })
    event.refresh_from_db()
    stored = json.dumps([event.changes, event.object_id, event.object_repr])
    for secret in ("s3cr3t-value-123", "abc123def", "pbkdf2_sha256$", "BEGIN PRIVATE KEY", "JBSWY3DPEHPK3PXP",  # pragma: allowlist secret
                   token.key, token.digest):
        assert secret not in stored, secret
    assert event.changes["after"]["risk_tier"] == "high" and event.changes["after"]["password"] == ""
    assert verify_chain().ok


def store_event_as_older_versions_did(actor, **values) -> AuditEvent:
    """Append an event without redaction, correctly chained: what the trail holds from before this fix."""
    fields = {f.name for f in AuditEvent._meta.fields}
    head, _ = AuditChainHead.objects.get_or_create(pk=1)
    event = AuditEvent(seq=head.last_seq + 1, at=timezone.now(), actor=actor, actor_username=actor.username,
                       prev_hash=head.last_hash, request_id="", **values)
    if "chain_version" in fields:
        from audit import chain

        event.chain_version, event.key_id = chain.CHAIN_HMAC, chain.keyring()[0][0]
    event.hash = event.compute_hash()
    event.save(force_insert=True)
    update = {"last_seq": event.seq, "last_hash": event.hash}
    if "mac" in {f.name for f in AuditChainHead._meta.fields}:
        from audit import chain

        key_id, key = chain.keyring()[0]
        update.update(key_id=key_id, mac=chain.head_mac(key, event.seq, event.hash))
    AuditChainHead.objects.filter(pk=1).update(**update)
    return event


def test_secrets_stored_by_older_versions_are_masked_in_the_page_the_api_and_the_admin(
        org, secrets_of, client, api, admin_client):
    password_hash = org.member.password
    token = secrets_of["token"]
    stored = [
        store_event_as_older_versions_did(org.admin, action="admin:user.create", object_type="accounts.user",
                                          object_id=str(org.member.pk), object_repr="member",
                                          changes={"after": {"username": "member", "password": password_hash}}),
        store_event_as_older_versions_did(org.admin, action="admin:tokenproxy.delete", object_type="authtoken.tokenproxy",
                                          object_id=token.key, object_repr=token.key,
                                          changes={"before": {"key": token.key, "user": org.officer.pk}}),
        store_event_as_older_versions_did(org.admin, action="admin:totpdevice.change", object_type="otp_totp.totpdevice",
                                          object_id=str(secrets_of["totp"].pk), object_repr="officer phone",
                                          changes={"after": {"key": secrets_of["totp"].key}}),
    ]
    secrets = [password_hash, token.key, secrets_of["totp"].key]

    client.force_login(org.auditor)
    pages = {"page": client.get("/audit-log/"), "api list": api(org.auditor).get("/api/v1/audit-events/")}
    for event in stored:
        pages[f"api #{event.seq}"] = api(org.auditor).get(f"/api/v1/audit-events/{event.seq}/")
        pages[f"admin #{event.seq}"] = admin_client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    pages["admin list"] = admin_client.get("/admin/audit/auditevent/")
    for name, response in pages.items():
        assert response.status_code == 200, name
        body = response.content.decode()
        assert not [s for s in secrets if s in body], f"{name} shows a stored secret"
        assert "[redacted]" in body, name
    detail = api(org.auditor).get(f"/api/v1/audit-events/{stored[0].seq}/").json()
    assert detail["changes"]["after"] == {"username": "member", "password": "[redacted]"}
    assert detail["hash"] == stored[0].hash  # the stored event is untouched...
    assert verify_chain().ok  # ...so the chain still verifies


def test_the_admin_shows_no_totp_key_qr_code_recovery_codes_or_tokens(admin_client, secrets_of):
    totp, static = secrets_of["totp"], secrets_of["static"]
    pages = [
        "/admin/otp_totp/totpdevice/", f"/admin/otp_totp/totpdevice/{totp.pk}/change/",
        "/admin/otp_static/staticdevice/", f"/admin/otp_static/staticdevice/{static.pk}/change/",
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert leaked(response.content, secrets_of) == [], url
        assert b"qrcode" not in response.content.lower(), url
    for url in (f"/admin/otp_totp/totpdevice/{totp.pk}/config/", f"/admin/otp_totp/totpdevice/{totp.pk}/qrcode/"):
        assert admin_client.get(url).status_code in (403, 404), url
    # Nobody creates a second factor or a token for someone else through the admin.
    for url in ("/admin/otp_totp/totpdevice/add/", "/admin/otp_static/staticdevice/add/"):
        assert admin_client.get(url).status_code == 403, url
    tokens = admin_client.get("/admin/authtoken/tokenproxy/")
    assert tokens.status_code == 404 or leaked(tokens.content, secrets_of) == []


def test_an_administrator_can_still_delete_a_lost_authenticator_and_it_is_audited(admin_client, secrets_of):
    totp = secrets_of["totp"]
    response = admin_client.post(f"/admin/otp_totp/totpdevice/{totp.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=totp.pk).exists()
    event = AuditEvent.objects.get(action="admin:totpdevice.delete")
    assert totp.key not in json.dumps(event.changes) and event.changes["before"]["key"] == "[redacted]"


def test_no_admin_page_lists_or_edits_a_secret_field(superuser):
    """Every registered admin, including those of libraries: no secret field in a list, form or inline."""
    from audit.redaction import is_secret_name

    request = RequestFactory().get("/admin/")
    request.user = superuser
    allowed = {("accounts.user", "password")}  # Django shows a masked summary of the hash, never the hash
    problems = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        secret = {f.name for f in model._meta.concrete_fields if is_secret_name(f.name, label)}
        secret -= {name for lbl, name in allowed if lbl == label}
        for obj in ([None] if model_admin.has_add_permission(request) else []) + [model()]:
            shown = {name for _, opts in model_admin.get_fieldsets(request, obj) for name in _flat(opts["fields"])}
            for inline in model_admin.get_inline_instances(request, obj):
                inline_label = inline.model._meta.label_lower
                shown |= {f"{inline_label}.{f.name}" for f in inline.model._meta.concrete_fields
                          if is_secret_name(f.name, inline_label)}
            problems += [f"{label}: form shows {name}" for name in shown & secret]
            problems += [f"{label}: inline shows {name}" for name in shown if "." in name]
        problems += [f"{label}: list shows {name}" for name in set(model_admin.get_list_display(request)) & secret]
    assert problems == []


def _flat(fields):
    for item in fields:
        if isinstance(item, (list, tuple)):
            yield from item
        else:
            yield item
