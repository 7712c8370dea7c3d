"""What follows from a change of identity, whichever path made it (API, pages, Django admin, shell).

- A failed sign-in, wherever `authenticate()` or the sign-in decision reports it, is an audit event.
- A change of password, active status, role or staff status, and a new, confirmed or removed MFA
  device, revokes every API token of the user. (Writes through `QuerySet.update()` send no signal:
  the services never use it on these fields.)
"""

from __future__ import annotations

from django.contrib.auth.signals import user_login_failed
from django.db.models.signals import post_delete, post_init, post_save
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import audit_alone

from .models import User

USER_FIELDS = ("password", "is_active", "org_role", "is_superuser", "is_staff")
TOTP_FIELDS = ("key", "confirmed")


def _remember(instance, fields) -> None:
    # Deferred fields are absent from __dict__: they are not compared (their old value is unknown).
    instance._identity_state = {name: instance.__dict__[name] for name in fields if name in instance.__dict__}


def _changed(instance, fields, update_fields) -> list[str]:
    if update_fields is not None and not set(update_fields) & set(fields):
        return []
    before = getattr(instance, "_identity_state", {})
    return [name for name in fields if name in before and instance.__dict__.get(name) != before[name]]


def _revoke(user_id, reason: str) -> None:
    from .tokens import tokens_revoke_all

    user = User.objects.filter(pk=user_id).first()
    if user is not None:
        tokens_revoke_all(actor=None, user=user, reason=reason)


def remember_user(sender, instance, **kwargs):
    _remember(instance, USER_FIELDS)


def user_saved(sender, instance, created, update_fields=None, **kwargs):
    changed = [] if created else _changed(instance, USER_FIELDS, update_fields)
    if changed:
        _revoke(instance.pk, "changed: " + ", ".join(sorted(changed)))
    _remember(instance, USER_FIELDS)


def remember_totp(sender, instance, **kwargs):
    _remember(instance, TOTP_FIELDS)


def totp_saved(sender, instance, created, update_fields=None, **kwargs):
    # Verifying a code saves the device too (drift, throttling): only a key or confirmation counts.
    if instance.confirmed and (created or _changed(instance, TOTP_FIELDS, update_fields)):
        _revoke(instance.user_id, "authenticator confirmed")
    _remember(instance, TOTP_FIELDS)


def totp_deleted(sender, instance, **kwargs):
    if instance.__dict__.get("confirmed", True):
        _revoke(instance.user_id, "authenticator removed")


def recovery_codes_created(sender, instance, created, **kwargs):
    # Only a new set counts: using a code saves the device too (throttling).
    if created:
        _revoke(instance.user_id, "recovery codes replaced")


def recovery_codes_deleted(sender, instance, **kwargs):
    _revoke(instance.user_id, "recovery codes removed")


def audit_failed_sign_in(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username") or "")[:150]
    user = User.objects.filter(username=username).first() if username else None
    path = getattr(request, "path", "") or ""
    extra = {
        "channel": "api" if path.startswith("/api/") else "form",
        "factor": "otp" if kwargs.get("reason") == "otp" else "password",
        "locked_out": bool(getattr(request, "axes_locked_out", False)),
    }
    # An unknown username is not recorded: it is often a password typed into the wrong field.
    audit_alone(actor=None, action="auth.login_failed", object_type="accounts.user",
                object_id=str(user.pk) if user else "", object_repr=username if user else "(unknown username)",
                extra=extra)


def audit_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    user = User.objects.filter(username=username).first() if username else None
    audit_alone(actor=None, action="auth.locked_out", object_type="accounts.user",
                object_id=str(user.pk) if user else "", object_repr=username if user else "(unknown username)")


def connect() -> None:
    from axes.signals import user_locked_out

    post_init.connect(remember_user, sender=User, dispatch_uid="accounts.remember_user")
    post_save.connect(user_saved, sender=User, dispatch_uid="accounts.user_saved")
    post_init.connect(remember_totp, sender=TOTPDevice, dispatch_uid="accounts.remember_totp")
    post_save.connect(totp_saved, sender=TOTPDevice, dispatch_uid="accounts.totp_saved")
    post_delete.connect(totp_deleted, sender=TOTPDevice, dispatch_uid="accounts.totp_deleted")
    post_save.connect(recovery_codes_created, sender=StaticDevice, dispatch_uid="accounts.static_saved")
    post_delete.connect(recovery_codes_deleted, sender=StaticDevice, dispatch_uid="accounts.static_deleted")
    user_login_failed.connect(audit_failed_sign_in, dispatch_uid="accounts.audit_failed_sign_in")
    user_locked_out.connect(audit_locked_out, dispatch_uid="accounts.audit_locked_out")
