"""Invitations by e-mail: a single-use link that expires, to create a portal account."""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.choices import OrgRole
from accounts.models import User
from audit.services import audit_record

from .models import Invitation

VALID_FOR = dt.timedelta(hours=72)
INVALID = "This invitation link is not valid: it was used already, has expired, or was mistyped. Ask for a new one."


@transaction.atomic(durable=True)
def invitation_create(*, actor, email: str, org_role: str, link_for) -> Invitation:
    """Send an invitation; `link_for(key)` makes the absolute URL of the acceptance page."""
    if not actor.is_org_admin:
        raise PermissionDenied("Only administrators invite people.")
    if org_role not in OrgRole.values:
        raise ValidationError({"org_role": ["Choose a role."]})
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": ["Someone with this e-mail address already has an account."]})
    key = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(email=email, org_role=org_role, digest=Invitation.digest_of(key),
                                           created_by=actor, expires_at=timezone.now() + VALID_FOR)
    send_mail("Your MLSec Portal invitation",
              f"{actor.get_full_name() or actor.get_username()} invites you to the MLSec Portal.\n\n"
              f"Create your account within 72 hours: {link_for(key)}\n\nThe link works once.",
              None, [email])
    audit_record(actor=actor, action="invitation.create", obj=invitation, after={"email": email, "org_role": org_role})
    return invitation


def pending_invitations():
    """Invitations that still work: not used, not revoked, not expired."""
    return Invitation.objects.filter(used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


def inviter_still_may_invite(invitation: Invitation) -> bool:
    """An invitation carries its inviter's authority: once the inviter is no longer an active
    administrator (demoted, deactivated, deleted), a link they sent creates nothing."""
    inviter = invitation.created_by
    return inviter is not None and inviter.is_active and inviter.is_org_admin


def invitation_for(key: str) -> Invitation | None:
    if not key or len(key) > 100:
        return None
    invitation = pending_invitations().select_related("created_by").filter(digest=Invitation.digest_of(key)).first()
    if invitation is None or not inviter_still_may_invite(invitation):
        return None
    return invitation


@transaction.atomic(durable=True)
def invitation_revoke(*, actor, invitation: Invitation) -> Invitation:
    if not actor.is_org_admin:
        raise PermissionDenied("Only administrators revoke invitations.")
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.used_at is not None or invitation.revoked_at is not None:
        raise ValidationError("This invitation was used or revoked already.")
    invitation.revoked_at, invitation.revoked_by = timezone.now(), actor
    invitation.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(actor=actor, action="invitation.revoke", obj=invitation, after={"email": invitation.email})
    return invitation


@transaction.atomic(durable=True)
def invitation_accept(*, key: str, username: str, password: str) -> User:
    invitation = invitation_for(key)
    if invitation is None:
        raise ValidationError(INVALID)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.used_at is not None or invitation.revoked_at is not None:  # a double click waits, then finds it used
        raise ValidationError(INVALID)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": ["This username is taken."]})
    user = User(username=username, email=invitation.email, org_role=invitation.org_role)
    validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    invitation.used_at, invitation.used_by = timezone.now(), user
    invitation.save(update_fields=["used_at", "used_by"])
    audit_record(actor=user, action="invitation.accept", obj=invitation, after={"username": username})
    audit_record(actor=invitation.created_by, action="user.create", obj=user,
                 after={"username": username, "email": user.email, "org_role": user.org_role},
                 extra={"via": "invitation"})
    return user
