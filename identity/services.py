"""Writes on identity providers, group rules and SCIM tokens: administrators only, each audited.
Secrets (the client secret, a SCIM token) never reach the audit trail."""

from __future__ import annotations

import secrets

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_delete, audit_record, diff, snapshot

from .models import GroupRule, IdentityProvider, ScimToken

ADMINS_ONLY = "Only administrators manage identity providers, group rules and SCIM tokens."
PROVIDER_FIELDS = ("slug", "label", "issuer", "client_id", "scopes", "groups_claim", "mfa_amr", "mfa_acr", "enabled")
RULE_FIELDS = ("group", "org_role", "team", "team_role")


def _require_admin(actor) -> None:
    if not getattr(actor, "is_org_admin", False):
        raise PermissionDenied(ADMINS_ONLY)


@transaction.atomic(durable=True)
def scim_token_create(*, actor, name: str) -> tuple[ScimToken, str]:
    """A new SCIM bearer token; the key is returned once and only its SHA-256 is kept."""
    _require_admin(actor)
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError({"name": ["Give the token a name of 1 to 120 characters (e.g. the provider's)."]})
    key = "scim_" + secrets.token_urlsafe(32)
    token = ScimToken.objects.create(name=name, digest=ScimToken.digest_of(key), created_by=actor)
    audit_record(actor=actor, action="scim_token.create", obj=token, after={"name": name})
    return token, key


@transaction.atomic(durable=True)
def scim_token_revoke(*, actor, token: ScimToken) -> None:
    _require_admin(actor)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="scim_token.revoke", obj=token, before={"name": token.name})


def _clean_provider(provider: IdentityProvider) -> None:
    provider.issuer = provider.issuer.rstrip("/")
    provider.full_clean(exclude=["client_secret_sealed"])
    if "openid" not in provider.scopes.split():
        raise ValidationError({"scopes": ["The scopes must include “openid”."]})


@transaction.atomic(durable=True)
def provider_save(*, actor, provider: IdentityProvider | None = None, client_secret: str | None = None,
                  **fields) -> IdentityProvider:
    """Create (`provider` None) or update a provider; an empty `client_secret` keeps the stored one."""
    _require_admin(actor)
    creating = provider is None
    provider = provider or IdentityProvider()
    before = {} if creating else snapshot(provider, PROVIDER_FIELDS)
    for name, value in fields.items():
        if name in PROVIDER_FIELDS and not (name == "slug" and not creating):
            setattr(provider, name, value)
    if client_secret:
        provider.client_secret = client_secret
    _clean_provider(provider)
    provider.save()
    cache.delete(f"oidc-discovery:{provider.issuer}")
    old, new = diff(before, snapshot(provider, PROVIDER_FIELDS))
    if client_secret:
        new["client_secret"] = "(changed)"  # noqa: S105 - a marker, never the secret
    if new or creating:
        audit_record(actor=actor, action="identity_provider.create" if creating else "identity_provider.update",
                     obj=provider, before=old or None, after=new)
    return provider


@transaction.atomic(durable=True)
def provider_delete(*, actor, provider: IdentityProvider) -> None:
    _require_admin(actor)
    before = snapshot(provider, PROVIDER_FIELDS)
    audit_delete(actor=actor, action="identity_provider.delete", obj=provider, before=before,
                 object_repr=before["label"])


@transaction.atomic(durable=True)
def rule_create(*, actor, group: str, org_role: str = "", team=None, team_role: str = "") -> GroupRule:
    _require_admin(actor)
    rule = GroupRule(group=(group or "").strip(), org_role=org_role or "", team=team, team_role=team_role or "")
    if not rule.group:
        raise ValidationError({"group": ["Name the provider group."]})
    if bool(rule.org_role) == bool(rule.team_id):
        raise ValidationError({"__all__": ["A rule grants either an organisation role, or a team with a team role."]})
    if rule.team_id and not rule.team_role:
        raise ValidationError({"team_role": ["Choose lead or member."]})
    rule.full_clean()
    rule.save()
    audit_record(actor=actor, action="group_rule.create", obj=rule, after=snapshot(rule, RULE_FIELDS))
    return rule


@transaction.atomic(durable=True)
def rule_delete(*, actor, rule: GroupRule) -> None:
    _require_admin(actor)
    before = snapshot(rule, RULE_FIELDS)
    audit_delete(actor=actor, action="group_rule.delete", obj=rule, before=before, object_repr=str(before["group"]))
