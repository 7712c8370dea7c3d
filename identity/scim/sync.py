"""What a SCIM change does to the portal: users created, updated, deprovisioned; group rules applied."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.choices import IdentitySource, MembershipSource
from accounts.models import User
from accounts.tokens import tokens_revoke_all
from audit.services import audit_record, diff, snapshot
from identity.models import ScimResource
from identity.rules import apply_groups

FIELDS = ("username", "email", "first_name", "last_name", "is_active")


class Conflict(Exception):
    pass


def _primary_email(data: dict) -> str:
    emails = [e for e in data.get("emails") or [] if isinstance(e, dict) and e.get("value")]
    primary = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
    return (primary or {}).get("value", "")[:254]


def _fields_from(data: dict) -> dict:
    name = data.get("name") or {}
    return {
        "username": str(data.get("userName", ""))[:150],
        "email": _primary_email(data),
        "first_name": (name.get("givenName") or "")[:150],
        "last_name": (name.get("familyName") or "")[:150],
        "is_active": data.get("active") is not False,
    }


def end_sessions(user: User) -> int:
    """Delete every live session of `user` (a session stores the user id in its encoded data)."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return ended


def deprovision(user: User, *, via: str) -> None:
    """Deactivate at once: no sign-in, no session, no API token (also on re-activation, new ones are needed)."""
    user.is_active = False
    user.set_unusable_password()  # changes the session hash: any session Django still finds is refused
    user.save(update_fields=["is_active", "password"])
    sessions = end_sessions(user)
    revoked = tokens_revoke_all(actor=None, user=user, reason="deprovisioned")
    audit_record(actor=None, action="user.deprovision", obj=user,
                 extra={"via": via, "sessions_ended": sessions, "tokens_revoked": revoked})


def user_written(row: ScimResource, *, created: bool, actor_label: str) -> None:
    via = f"scim:{actor_label}" if actor_label else "scim"
    fields = _fields_from(row.data)
    user = row.user
    if user is None:
        if User.objects.filter(username__iexact=fields["username"]).exists():
            raise Conflict("A portal account with this userName already exists.")
        user = User(identity_source=IdentitySource.SCIM, **{k: v for k, v in fields.items() if k != "is_active"})
        user.set_unusable_password()
        user.save()
        row.user = user
        row.save(update_fields=["user"])
        audit_record(actor=None, action="user.create", obj=user, after=snapshot(user, FIELDS), extra={"via": via})
        if not fields["is_active"]:
            deprovision(user, via=via)
        return
    if fields["username"].lower() != user.username.lower() and \
            User.objects.filter(username__iexact=fields["username"]).exclude(pk=user.pk).exists():
        raise Conflict("A portal account with this userName already exists.")
    before = snapshot(user, FIELDS)
    deactivate = user.is_active and not fields["is_active"]
    for name, value in fields.items():
        if name != "is_active" or value:  # deactivation goes through deprovision()
            setattr(user, name, value)
    user.save()
    old, new = diff(before, snapshot(user, FIELDS))
    if new:
        audit_record(actor=None, action="user.update", obj=user, before=old, after=new, extra={"via": via})
    if deactivate:
        deprovision(user, via=via)


def user_deleted(row: ScimResource, *, actor_label: str) -> None:
    """A deleted SCIM user is deprovisioned, not erased: its history (audit, reviews) stays."""
    if row.user is not None and row.user.is_active:
        deprovision(row.user, via=f"scim:{actor_label}" if actor_label else "scim")
    if row.user is not None:
        _reapply(row.user, exclude_user_scim_id=row.scim_id)


def _member_ids(data: dict | None) -> set[str]:
    return {m["value"] for m in (data or {}).get("members") or [] if isinstance(m, dict) and m.get("value")}


def groups_of(scim_user_id: str) -> list[str]:
    return [row.data.get("displayName", "") for row in ScimResource.objects.filter(resource_type="Group")
            if scim_user_id in _member_ids(row.data)]


def _reapply(user: User, *, exclude_user_scim_id: str = "", actor_label: str = "") -> None:
    scim_id = getattr(getattr(user, "scim_resource", None), "scim_id", "") or exclude_user_scim_id
    groups = [] if exclude_user_scim_id else groups_of(scim_id)
    apply_groups(user=user, groups=groups, source=MembershipSource.SCIM,
                 via=f"scim:{actor_label}" if actor_label else "scim")


def group_changed(*, before: dict | None, after: dict | None, actor_label: str) -> None:
    """Re-evaluate the group rules of every user who joined or left, or whose group was renamed."""
    affected = _member_ids(before) | _member_ids(after)
    if before and after and before.get("displayName") == after.get("displayName"):
        affected = _member_ids(before) ^ _member_ids(after)
    if after is None:
        # the row is deleted after this call: leave it out of the evaluation
        for row in ScimResource.objects.filter(scim_id__in=affected, user__isnull=False).select_related("user"):
            groups = [g for g in groups_of(row.scim_id) if g != before.get("displayName")]
            apply_groups(user=row.user, groups=groups, source=MembershipSource.SCIM,
                         via=f"scim:{actor_label}" if actor_label else "scim")
        return
    for row in ScimResource.objects.filter(scim_id__in=affected, user__isnull=False).select_related("user"):
        _reapply(row.user, actor_label=actor_label)
