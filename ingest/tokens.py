"""Ingest tokens: made by a team lead or an officer, shown once, stored as a digest, expiring, revocable.

The key starts with `mlsi_` so the authentication class can tell it from a person's knox token
without a database lookup; the rest is 32 random bytes (urlsafe base64).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record

from .models import IngestToken

PREFIX = "mlsi_"
MAX_LIFETIME_DAYS = 366


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def can_manage_tokens(user, project) -> bool:
    return IngestToken.can_be_managed_by(user, project)  # the rule lives on the model (docs/roles.md)


@transaction.atomic(durable=True)
def ingest_token_create(*, actor, project, name: str, expires_on: dt.date) -> tuple[IngestToken, str]:
    """A new token for `project`'s pipeline; returns the row and the key (never stored, shown once)."""
    if not can_manage_tokens(actor, project):
        raise PermissionDenied("Only the team's lead or a security officer makes ingest tokens.")
    if project.archived_at:
        raise ValidationError("An archived project takes no results.")
    today = timezone.now().date()
    if expires_on < today:
        raise ValidationError({"expires_on": ["The expiry date is in the past."]})
    if expires_on > today + dt.timedelta(days=MAX_LIFETIME_DAYS):
        raise ValidationError({"expires_on": [f"An ingest token lives at most {MAX_LIFETIME_DAYS} days."]})
    key = PREFIX + secrets.token_urlsafe(32)
    token = IngestToken.objects.create(project=project, name=name.strip(), digest=key_digest(key),
                                       created_by=actor, expires_on=expires_on)
    audit_record(actor=actor, action="ingest.token_create", obj=token,
                 after={"project": project.pk, "name": token.name, "expires_on": expires_on.isoformat()})
    return token, key


@transaction.atomic(durable=True)
def ingest_token_revoke(*, actor, token: IngestToken) -> IngestToken:
    if not can_manage_tokens(actor, token.project):
        raise PermissionDenied("Only the team's lead or a security officer revokes ingest tokens.")
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by = timezone.now(), actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(actor=actor, action="ingest.token_revoke", obj=token,
                     after={"project": token.project_id, "name": token.name})
    return token


@transaction.atomic(durable=True)
def ci_identity_exchange(identity) -> tuple[IngestToken, str]:
    """An ingest key for a CI identity token used up by this exchange: the same project, the same reach,
    and valid exactly as long as the token was (never past its `exp`). Audited."""
    key = PREFIX + secrets.token_urlsafe(32)
    expires = identity.expires_at
    token = IngestToken.objects.create(project=identity.project, name=f"CI identity {identity.name}"[:120],
                                       digest=key_digest(key), created_by=None, expires_on=expires.date(),
                                       expires_at=expires, ci_identity=identity.name)
    audit_record(actor=None, action="ingest.ci_identity_exchange", obj=token,
                 after={"project": identity.project.pk, "ci_identity": identity.name,
                        "expires_at": expires.isoformat()})
    return token, key


def token_for_key(key: str) -> IngestToken | None:
    """The usable token whose key this is (None: unknown, revoked or expired)."""
    if not key.startswith(PREFIX) or len(key) > 100:
        return None
    token = (IngestToken.objects.usable(timezone.now().date()).select_related("project__team")
             .filter(digest=key_digest(key)).first())
    if token is not None and token.project.archived_at is None:
        return token
    return None
