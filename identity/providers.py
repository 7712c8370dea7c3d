"""The configured OpenID Providers (the portal's, plus one from the environment), their discovery
documents, and the group rules (the portal's, plus the environment's maps)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.cache import cache

from accounts.choices import OrgRole, TeamRole

logger = logging.getLogger(__name__)

ENV_SLUG = "env"
DISCOVERY_TTL_S = 3600
DISCOVERY_MAX_BYTES = 256 * 1024
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


class ProviderUnavailable(Exception):
    """Discovery failed: the provider is unreachable or its metadata is wrong."""


@dataclass(frozen=True)
class ProviderConfig:
    slug: str
    label: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    groups_claim: str
    mfa_amr: frozenset[str]
    mfa_acr: frozenset[str]
    from_environment: bool = False

    def proves_mfa(self, claims: dict) -> bool:
        """Whether the ID token's `amr` / `acr` prove a multi-factor sign-in, as this provider is configured."""
        amr = claims.get("amr") or []
        if isinstance(amr, str):
            amr = [amr]
        if self.mfa_amr and any(isinstance(v, str) and v in self.mfa_amr for v in amr):
            return True
        acr = claims.get("acr")
        return bool(self.mfa_acr and isinstance(acr, str) and acr in self.mfa_acr)


def _words(value: str) -> frozenset[str]:
    return frozenset(value.replace(",", " ").split())


def environment_provider() -> ProviderConfig | None:
    if not (settings.MLSEC_OIDC_ISSUER and settings.MLSEC_OIDC_CLIENT_ID):
        return None
    return ProviderConfig(
        slug=ENV_SLUG, label=settings.MLSEC_OIDC_LABEL, issuer=settings.MLSEC_OIDC_ISSUER.rstrip("/"),
        client_id=settings.MLSEC_OIDC_CLIENT_ID, client_secret=settings.MLSEC_OIDC_CLIENT_SECRET,
        scopes=settings.MLSEC_OIDC_SCOPES, groups_claim=settings.MLSEC_OIDC_GROUPS_CLAIM,
        mfa_amr=_words(settings.MLSEC_OIDC_MFA_AMR), mfa_acr=frozenset(), from_environment=True,
    )


def _from_model(row) -> ProviderConfig:
    return ProviderConfig(
        slug=row.slug, label=row.label, issuer=row.issuer.rstrip("/"), client_id=row.client_id,
        client_secret=row.client_secret, scopes=row.scopes, groups_claim=row.groups_claim,
        mfa_amr=_words(row.mfa_amr), mfa_acr=_words(row.mfa_acr),
    )


def configured_providers() -> list[ProviderConfig]:
    from .models import IdentityProvider

    found = [_from_model(row) for row in IdentityProvider.objects.filter(enabled=True)]
    env = environment_provider()
    return ([env] if env else []) + found


def provider_by_slug(slug: str) -> ProviderConfig | None:
    return next((p for p in configured_providers() if p.slug == slug), None)


def discovery(provider: ProviderConfig) -> dict:
    """The provider's metadata, cached for an hour; its `issuer` must be exactly the configured one."""
    key = f"oidc-discovery:{provider.issuer}"
    metadata = cache.get(key)
    if metadata is not None:
        return metadata
    url = f"{provider.issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT, allow_redirects=False)
        response.raise_for_status()
        if len(response.content) > DISCOVERY_MAX_BYTES:
            raise ProviderUnavailable("the discovery document is too large")
        metadata = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"discovery at {url} failed: {type(exc).__name__}") from None
    if not isinstance(metadata, dict) or any(not isinstance(metadata.get(k), str) for k in REQUIRED_METADATA):
        raise ProviderUnavailable("the discovery document lacks the required endpoints")
    if metadata["issuer"].rstrip("/") != provider.issuer:
        raise ProviderUnavailable("the discovery document names another issuer")
    cache.set(key, metadata, DISCOVERY_TTL_S)
    return metadata


@dataclass(frozen=True)
class Rule:
    group: str
    org_role: str = ""
    team_slug: str = ""
    team_role: str = ""


def _environment_rules() -> list[Rule]:
    rules: list[Rule] = []
    try:
        role_map = json.loads(settings.MLSEC_OIDC_ROLE_MAP or "{}")
        team_map = json.loads(settings.MLSEC_OIDC_TEAM_MAP or "{}")
    except ValueError:
        logger.error("MLSEC_OIDC_ROLE_MAP / MLSEC_OIDC_TEAM_MAP is not JSON: the environment's group rules are ignored")
        return rules
    for group, role in (role_map.items() if isinstance(role_map, dict) else []):
        if role in (OrgRole.ADMIN, OrgRole.OFFICER, OrgRole.AUDITOR):
            rules.append(Rule(group=str(group), org_role=role))
    for group, grant in (team_map.items() if isinstance(team_map, dict) else []):
        if isinstance(grant, dict) and grant.get("role") in TeamRole.values and isinstance(grant.get("team"), str):
            rules.append(Rule(group=str(group), team_slug=grant["team"], team_role=grant["role"]))
    return rules


def group_rules() -> list[Rule]:
    from .models import GroupRule

    rows = GroupRule.objects.select_related("team")
    return [Rule(group=r.group, org_role=r.org_role, team_slug=r.team.slug if r.team_id else "", team_role=r.team_role)
            for r in rows] + _environment_rules()
