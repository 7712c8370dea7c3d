"""Writes on users, teams and memberships, each with its audit event."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from audit.services import audit_delete, audit_record, diff, snapshot

from .choices import IdentitySource, MembershipSource, TeamRole
from .models import Membership, Team, User

USER_FIELDS = ("username", "email", "first_name", "last_name", "org_role", "is_active")
# An account from the identity provider: these come from it (claims, SCIM, group rules) and would be overwritten.
PROVIDER_OWNED_FIELDS = ("username", "email", "first_name", "last_name", "org_role")
PROVIDER_OWNS_USER = ("{fields}: this account comes from the identity provider, which sets them at every sign-in or "
                      "SCIM update. Change them at the provider (groups map to roles through the group rules).")
PROVIDER_OWNS_MEMBERSHIP = ("This membership comes from a group at the identity provider (a group rule): change the "
                            "group at the provider, or the rule.")
TEAM_FIELDS = ("slug", "name", "description")


def _require_admin(actor) -> None:
    if not actor.is_org_admin:
        raise PermissionDenied("Only administrators manage users.")


@transaction.atomic(durable=True)
def user_create(*, actor, password: str | None = None, **fields) -> User:
    _require_admin(actor)
    user = User(**{k: v for k, v in fields.items() if k in USER_FIELDS})
    if password:
        validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(actor=actor, action="user.create", obj=user, after=snapshot(user, USER_FIELDS))
    return user


@transaction.atomic(durable=True)
def user_update(*, actor, user: User, password: str | None = None, **fields) -> User:
    _require_admin(actor)
    before = snapshot(user, USER_FIELDS)
    if user.identity_source != IdentitySource.LOCAL:
        from identity.rules import roles_come_from_rules

        owned = sorted(n for n in PROVIDER_OWNED_FIELDS if n in fields and fields[n] != before[n]
                       and (n != "org_role" or roles_come_from_rules()))
        if owned:
            raise ValidationError({owned[0]: [PROVIDER_OWNS_USER.format(fields=", ".join(owned))]})
    for name, value in fields.items():
        if name in USER_FIELDS:
            setattr(user, name, value)
    if password:
        validate_password(password, user)
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    old, new = diff(before, snapshot(user, USER_FIELDS))
    if password:
        new["password"] = "(changed)"  # noqa: S105 - a marker in the audit trail, never the password
    if new:
        audit_record(actor=actor, action="user.update", obj=user, before=old, after=new)
    return user


@transaction.atomic(durable=True)
def team_create(*, actor, **fields) -> Team:
    if not Team.can_be_created_by(actor):
        raise PermissionDenied("Only administrators and security officers create teams.")
    team = Team(**{k: v for k, v in fields.items() if k in TEAM_FIELDS})
    team.full_clean()
    team.save()
    audit_record(actor=actor, action="team.create", obj=team, after=snapshot(team, TEAM_FIELDS))
    return team


@transaction.atomic(durable=True)
def team_update(*, actor, team: Team, **fields) -> Team:
    if not team.can_be_managed_by(actor):
        raise PermissionDenied("Only administrators and security officers edit teams.")
    before = snapshot(team, TEAM_FIELDS)
    for name in ("name", "description"):  # the slug is the team's address and never changes
        if name in fields:
            setattr(team, name, fields[name])
    team.full_clean()
    team.save()
    old, new = diff(before, snapshot(team, TEAM_FIELDS))
    if new:
        audit_record(actor=actor, action="team.update", obj=team, before=old, after=new)
    return team


@transaction.atomic(durable=True)
def membership_set(*, actor, team: Team, user: User, role: str) -> Membership:
    """Add `user` to `team` with `role`, or change their role if they are already in it."""
    refusal = team.membership_change_refusal(actor, user)
    if refusal:
        raise PermissionDenied(refusal)
    if role not in TeamRole.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(TeamRole.values)}."]})
    membership = Membership.objects.filter(team=team, user=user).first()
    if membership is not None and membership.source != MembershipSource.MANUAL:
        raise ValidationError({"user": [PROVIDER_OWNS_MEMBERSHIP]})
    before = {"role": membership.role} if membership else None
    if membership is None:
        try:
            with transaction.atomic():
                membership = Membership.objects.create(team=team, user=user, role=role)
        except IntegrityError:
            raise ValidationError({"user": ["This user is already in the team."]}) from None
    elif membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    else:
        return membership
    audit_record(actor=actor, action="membership.set", obj=membership, before=before,
                 after={"team": team.slug, "user": user.get_username(), "role": role})
    return membership


@transaction.atomic(durable=True)
def membership_remove(*, actor, team: Team, user: User) -> None:
    """Take `user` out of `team`; their membership history stays (separation of duties reads it)."""
    refusal = team.membership_change_refusal(actor, user)
    if refusal:
        raise PermissionDenied(refusal)
    membership = Membership.objects.filter(team=team, user=user).first()
    if membership is None:
        raise ValidationError({"user": ["This user is not in the team."]})
    if membership.source != MembershipSource.MANUAL:
        raise ValidationError({"user": [PROVIDER_OWNS_MEMBERSHIP]})
    before = {"team": team.slug, "user": user.get_username(), "role": membership.role}
    audit_delete(actor=actor, action="membership.remove", obj=membership, before=before, object_repr=f"{user} in {team}")
