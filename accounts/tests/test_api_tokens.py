"""Tokens that end: stored hashed, idle and absolute lifetimes (with time travel), revocation by the
holder, revocation when the password, MFA devices, role or active status change."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.mfa import recovery_codes_regenerate
from accounts.models import APIToken
from accounts.tests.factories import PASSWORD
from accounts.tokens import token_issue
from audit.models import AuditEvent


@pytest.fixture
def lifetimes(settings):
    settings.MLSEC_TOKEN_IDLE_HOURS = 8
    settings.MLSEC_TOKEN_TTL_HOURS = 24


def sign_in(api, username="lead", **extra):
    response = api().post("/api/v1/auth/token/", {"username": username, "password": PASSWORD, **extra}, format="json")
    assert response.status_code == 200, response.content
    return response.data["token"]


def with_token(api, key):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def status(api, key, path="/api/v1/projects/"):
    return with_token(api, key).get(path).status_code


# --- stored hashed, never shown -------------------------------------------------------------------

def test_a_token_is_stored_only_as_a_digest(org, api):
    key = sign_in(api)
    token = APIToken.objects.get(user=org.lead)
    stored = " ".join(str(value) for value in APIToken.objects.filter(user=org.lead).values_list().get())
    assert key not in stored and len(token.digest) == 128
    assert key not in str(token)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {APIToken._meta.db_table}")  # noqa: S608 - a fixed table name
        assert not any(key in str(value) for row in cursor.fetchall() for value in row)


def test_the_old_clear_text_token_table_is_gone(db):
    assert "authtoken_token" not in connection.introspection.table_names()


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor cannot run inside the test's transaction
def test_drf_tokens_are_dropped_on_upgrade():
    """An upgraded database still holds DRF's table of clear-text keys: the migration drops it."""
    migration = importlib.import_module("accounts.migrations.0003_api_tokens_knox_and_drop_drf_tokens")
    with connection.schema_editor() as editor:
        editor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, user_id integer)")
        editor.execute("INSERT INTO authtoken_token VALUES ('0123456789abcdef0123456789abcdef01234567', NULL, 1)")  # pragma: allowlist secret
        editor.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('authtoken', '0001_initial', %s)",
                       [timezone.now()])
        migration.drop_drf_tokens(None, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone()[0] == 0


def test_the_admin_shows_no_key_or_digest_and_cannot_mint_a_token(org, client, api):
    key = sign_in(api)
    token = APIToken.objects.get(user=org.lead)
    org.admin.is_staff = org.admin.is_superuser = True
    org.admin.save()
    client.force_login(org.admin)
    listing = client.get("/admin/accounts/apitoken/")
    assert listing.status_code == 200 and b"lead" in listing.content
    for secret in (key, token.digest, token.token_key, key[:8]):
        assert secret.encode() not in listing.content
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403
    assert client.get(f"/admin/accounts/apitoken/{token.digest}/change/").status_code in (302, 403, 404)
    assert client.get("/admin/knox/authtoken/").status_code == 404


def test_the_header_stays_authorization_token(org, api):
    key = sign_in(api)
    assert status(api, key) == 200
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/projects/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Token \xff\xfe")
    assert client.get("/api/v1/projects/").status_code == 401


# --- lifetimes ------------------------------------------------------------------------------------

def test_a_token_unused_for_the_idle_lifetime_expires(lifetimes, org, api):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        key = sign_in(api)
        clock.shift(dt.timedelta(hours=7, minutes=59))
        assert status(api, key) == 200
        clock.shift(dt.timedelta(hours=8, minutes=1))  # eight hours after its last use
        assert status(api, key) == 401
    assert not APIToken.objects.filter(user=org.lead).exists()


def test_using_a_token_keeps_it_alive_past_the_idle_lifetime(lifetimes, org, api):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        key = sign_in(api)
        for _ in range(2):
            clock.shift(dt.timedelta(hours=7))
            assert status(api, key) == 200
        # 14 hours after issue, 7 after the last use: alive although the idle lifetime is 8 hours.


def test_a_token_in_constant_use_still_expires_at_its_absolute_lifetime(lifetimes, org, api):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        key = sign_in(api)
        for _ in range(3):
            clock.shift(dt.timedelta(hours=7))
            assert status(api, key) == 200  # 7, 14, 21 hours
        clock.shift(dt.timedelta(hours=2, minutes=59))
        assert status(api, key) == 200  # 23:59
        clock.shift(dt.timedelta(minutes=2))
        assert status(api, key) == 401  # 24:01, although used two minutes ago


def test_shortening_the_absolute_lifetime_applies_to_tokens_already_issued(lifetimes, settings, org, api):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        key = sign_in(api)
        clock.shift(dt.timedelta(hours=5))
        settings.MLSEC_TOKEN_TTL_HOURS = 4
        assert status(api, key) == 401


def test_the_token_response_says_when_it_expires(lifetimes, org, api):
    with time_machine.travel(timezone.now(), tick=False):
        response = api().post("/api/v1/auth/token/", {"username": "lead", "password": PASSWORD}, format="json")
        assert abs(response.data["expiry"] - (timezone.now() + dt.timedelta(hours=8))) < dt.timedelta(seconds=1)


# --- revocation by the holder ---------------------------------------------------------------------

def test_delete_revokes_the_calling_token_only(org, api):
    first, second = sign_in(api), sign_in(api)
    response = with_token(api, first).delete("/api/v1/auth/token/")
    assert response.status_code == 204
    assert status(api, first) == 401 and status(api, second) == 200
    assert with_token(api, first).delete("/api/v1/auth/token/").status_code == 401
    assert AuditEvent.objects.filter(action="auth.token_revoke", actor=org.lead).count() == 1


def test_delete_all_revokes_every_token_of_the_caller_and_no_one_elses(org, api):
    mine = [sign_in(api) for _ in range(3)]
    theirs = sign_in(api, "member")
    assert with_token(api, mine[0]).delete("/api/v1/auth/token/?all=1").status_code == 204
    assert [status(api, key) for key in mine] == [401, 401, 401]
    assert status(api, theirs) == 200


def test_delete_without_a_token_or_with_a_bad_flag_is_refused_plainly(org, api):
    assert api().delete("/api/v1/auth/token/").status_code == 401
    key = sign_in(api)
    assert with_token(api, key).delete("/api/v1/auth/token/?all=yes-please").status_code == 400
    assert status(api, key) == 200
    session = api()
    session.force_login(org.lead)
    assert session.delete("/api/v1/auth/token/").status_code == 400  # a session has no token of its own
    assert session.delete("/api/v1/auth/token/?all=1").status_code == 204
    assert status(api, key) == 401


def test_the_schema_describes_revoking_a_token(org, client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/auth/token/"]["delete"]
    assert {"204", "401"} <= set(operation["responses"])
    assert [p["name"] for p in operation["parameters"]] == ["all"]
    assert operation["security"] == [{"tokenAuth": []}, {"cookieAuth": []}]
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    assert schema["paths"]["/api/v1/auth/token/"]["post"].get("security", [{}]) == [{}]  # signing in needs none


# --- revocation on identity changes ---------------------------------------------------------------

def test_a_password_change_revokes_the_users_tokens(org, api):
    key, other = sign_in(api), sign_in(api, "member")
    services.user_update(actor=org.admin, user=org.lead, password="another-long-passphrase-77")  # pragma: allowlist secret
    assert status(api, key) == 401 and status(api, other) == 200
    event = AuditEvent.objects.get(action="auth.tokens_revoke_all")
    assert event.changes["extra"]["reason"] == "changed: password"


def test_a_password_change_in_the_admin_or_the_shell_revokes_the_users_tokens(org, api):
    key = sign_in(api)
    org.lead.set_password("yet-another-passphrase-55")  # pragma: allowlist secret
    org.lead.save()
    assert status(api, key) == 401


def test_deactivating_a_user_revokes_their_tokens(org, api):
    key = sign_in(api)
    admin = api(org.admin)
    assert admin.patch(f"/api/v1/users/{org.lead.pk}/", {"is_active": False}, format="json").status_code == 200
    assert APIToken.objects.filter(user=org.lead).count() == 0
    org.lead.is_active = True
    org.lead.save()
    assert status(api, key) == 401  # reactivation does not bring a revoked token back


def test_an_org_role_change_revokes_the_users_tokens(org, api):
    key = sign_in(api)
    services.user_update(actor=org.admin, user=org.lead, org_role="auditor")
    assert status(api, key) == 401


def test_becoming_staff_or_superuser_revokes_the_users_tokens(org, api):
    key = sign_in(api)
    org.lead.is_superuser = True
    org.lead.save(update_fields=["is_superuser"])
    assert status(api, key) == 401


def test_a_new_authenticator_revokes_the_users_tokens(org, api):
    key = sign_in(api)
    device = TOTPDevice.objects.create(user=org.lead, name="phone", confirmed=False)
    assert status(api, key) == 200  # an enrolment started is not yet a new device
    device.confirmed = True
    device.save()
    assert status(api, key) == 401


def test_removing_an_authenticator_revokes_the_users_tokens(org, api):
    device = TOTPDevice.objects.create(user=org.lead, name="phone", confirmed=True)
    from accounts.tests.otp import current_code

    key = sign_in(api, otp=current_code(device))
    device.delete()
    assert status(api, key) == 401


def test_new_recovery_codes_revoke_the_users_tokens(org, api):
    key = sign_in(api)
    recovery_codes_regenerate(user=org.lead)
    assert status(api, key) == 401


def test_using_the_authenticator_or_signing_in_does_not_revoke_tokens(settings, org, api):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    from accounts.tests.otp import current_code, next_code

    device = TOTPDevice.objects.create(user=org.lead, name="phone", confirmed=True)
    codes = recovery_codes_regenerate(user=org.lead)
    key = sign_in(api, otp=current_code(device))
    sign_in(api, otp=next_code(device))  # a code use saves the device (drift, throttling) and last_login
    sign_in(api, otp=codes[0])  # a recovery code is consumed
    api().post("/api/v1/auth/token/", {"username": "lead", "password": "wrong", "otp": "1"}, format="json")  # pragma: allowlist secret
    assert status(api, key) == 200


def test_other_edits_of_a_user_leave_their_tokens_alone(org, api):
    key = sign_in(api)
    services.user_update(actor=org.admin, user=org.lead, email="lead-2@example.org", first_name="Lea")
    assert status(api, key) == 200


def test_tokens_issued_are_audited_and_name_no_key(org, api):
    key = sign_in(api)
    event = AuditEvent.objects.get(action="auth.token_issue")
    assert event.actor == org.lead and key not in str(event.changes) and key[:15] not in str(event.changes)


def test_token_issue_caps_the_first_expiry_by_the_absolute_lifetime(settings, org):
    settings.MLSEC_TOKEN_IDLE_HOURS = 48
    settings.MLSEC_TOKEN_TTL_HOURS = 2
    token, _ = token_issue(user=org.lead, mfa_verified=False)
    assert token.expiry - token.created <= dt.timedelta(hours=2, seconds=1)


def test_an_administrator_revokes_a_users_tokens_from_the_admin(org, client, api):
    key, other = sign_in(api), sign_in(api, "member")
    org.admin.is_staff = org.admin.is_superuser = True
    org.admin.save()
    client.force_login(org.admin)
    response = client.post("/admin/accounts/user/", {"action": "revoke_api_tokens", "_selected_action": [org.lead.pk]})
    assert response.status_code == 302
    assert status(api, key) == 401 and status(api, other) == 200
    assert AuditEvent.objects.get(action="auth.tokens_revoke_all").actor == org.admin
