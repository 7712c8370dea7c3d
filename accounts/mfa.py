"""Multi-factor authentication: TOTP devices, one-time recovery codes, and who must use them."""

from __future__ import annotations

import base64
import secrets

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import audit_record

RECOVERY_CODE_COUNT = 10


def has_confirmed_device(user) -> bool:
    """Whether the user holds an authenticator (TOTP or recovery codes).

    The device that stands for an identity provider's MFA proof (identity.models.IdentityProviderMFA)
    is not one: it verifies no code.
    """
    return (TOTPDevice.objects.filter(user=user, confirmed=True).exists()
            or StaticDevice.objects.filter(user=user, confirmed=True).exists())


def must_enrol(user) -> bool:
    """True for a user whose role requires MFA and who has no confirmed device yet."""
    return user.requires_mfa and not has_confirmed_device(user)


def verify_code(user, code: str):
    """The confirmed device that accepts `code` (TOTP first, then a one-time recovery code), or None."""
    code = (code or "").strip().replace(" ", "").replace("-", "").lower()
    if not code or len(code) > 16:
        return None
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(code):
            return device
    for device in StaticDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(code):  # consumes the recovery code
            return device
    return None


def totp_secret(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


REPLACE_NEEDS_VERIFIED = ("You already have an authenticator: sign in with its one-time code (or a recovery code) "
                          "before adding or replacing one.")


def _require_verified_to_replace(user, verified: bool) -> None:
    """Adding or replacing a device needs a credential verified with the current one, if there is one."""
    if has_confirmed_device(user) and not verified:
        raise PermissionDenied(REPLACE_NEEDS_VERIFIED)


@transaction.atomic(durable=True)
def totp_start(*, user, verified: bool) -> TOTPDevice:
    """A fresh, unconfirmed TOTP device; any earlier unconfirmed one is discarded.

    `verified`: whether the caller's session or token was obtained with a second factor.
    """
    _require_verified_to_replace(user, verified)
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    audit_record(actor=user, action="mfa.totp_start", object_type="accounts.user", object_id=str(user.pk),
                 object_repr=user.get_username())
    return device


@transaction.atomic(durable=True)
def totp_confirm(*, user, code: str, verified: bool) -> list[str] | None:
    """Activate the pending device if `code` matches; return new recovery codes (shown once) or None.

    Confirming changes the user's devices, so every API token of the user is revoked (accounts/signals.py),
    the pre-enrolment token that confirmed it included: the user signs in again for a full token.
    """
    _require_verified_to_replace(user, verified)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None or not device.verify_token((code or "").strip()):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    audit_record(actor=user, action="mfa.totp_confirm", object_type="accounts.user", object_id=str(user.pk),
                 object_repr=user.get_username())
    return codes


@transaction.atomic(durable=True)
def recovery_codes_regenerate(*, user) -> list[str]:
    """Replace the user's recovery codes with ten new single-use ones."""
    codes = _new_recovery_codes(user)
    audit_record(actor=user, action="mfa.recovery_codes", object_type="accounts.user", object_id=str(user.pk),
                 object_repr=user.get_username())
    return codes


def _new_recovery_codes(user) -> list[str]:
    """Ten new single-use codes in place of the user's old ones; the caller's transaction and audit event."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    # 16 hex characters (django-otp stores at most 16), shown in groups of four for reading aloud.
    raw = [secrets.token_hex(8) for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in raw)
    return ["-".join(c[i:i + 4] for i in range(0, 16, 4)) for c in raw]


#: Session key: this session was opened without a second factor by someone who holds an authenticator
#: (single sign-on whose provider proved none). Until the portal's code is given, pages send them to
#: the code page and the API refuses the session, whatever their role: a person who enrolled by
#: choice is asked for their code at every sign-in, by password or through a provider.
CODE_OWED = "mfa_code_owed"


def code_owed(request) -> bool:
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    if session is None or not session.get(CODE_OWED) or user is None or not user.is_authenticated:
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified and is_verified())
