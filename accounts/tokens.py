"""API tokens: issue, expire, revoke. django-rest-knox keeps only a digest of each key.

Two lifetimes hold for every token: it dies `MLSEC_TOKEN_IDLE_HOURS` after its last use and, however
often it is used, `MLSEC_TOKEN_TTL_HOURS` after it was issued.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record

from .models import APIToken


def idle_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=settings.MLSEC_TOKEN_IDLE_HOURS)


def absolute_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=settings.MLSEC_TOKEN_TTL_HOURS)


def token_expiry(token: APIToken, now: dt.datetime) -> dt.datetime:
    """When `token`, used at `now`, expires: the idle lifetime from now, capped by the absolute one."""
    return min(now + idle_lifetime(), token.created + absolute_lifetime())


def token_outlived(token: APIToken, now: dt.datetime) -> bool:
    """True once the token is past its absolute lifetime (even if its stored expiry says otherwise)."""
    return token.created + absolute_lifetime() <= now


@transaction.atomic(durable=True)
def token_issue(*, user, mfa_verified: bool) -> tuple[APIToken, str]:
    """A new token for `user`; returns the row and the key (shown to the caller once, never stored)."""
    now = timezone.now()
    lifetime = min(idle_lifetime(), absolute_lifetime())
    token, key = APIToken.objects.create(user=user, expiry=lifetime, mfa_verified=mfa_verified)
    audit_record(actor=user, action="auth.token_issue", obj=user,
                 extra={"mfa": mfa_verified, "issued": token.created, "expires": now + lifetime})
    return token, key


@transaction.atomic(durable=True)
def token_revoke(*, actor, token: APIToken) -> None:
    # The event names the owner and the issue time: no part of the key or of its digest.
    user, issued = token.user, token.created
    token.delete()
    audit_record(actor=actor, action="auth.token_revoke", obj=user, extra={"issued": issued})


@transaction.atomic
def tokens_revoke_all(*, actor, user, reason: str) -> int:
    """Revoke every token of `user`; returns how many there were. `reason` goes into the audit event."""
    count, _ = APIToken.objects.filter(user=user).delete()
    if count:
        audit_record(actor=actor, action="auth.tokens_revoke_all", obj=user, extra={"count": count, "reason": reason})
    return count
