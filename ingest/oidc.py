"""CI identity tokens: `Authorization: Bearer <JWT>` from GitHub Actions or GitLab, verified with PyJWT.

The token's `iss` must be a registered `CIIssuer`; its signature is checked against that issuer's
JWKS, and its audience, expiry and issue time are required. A `CIIdentityRule` of the issuer whose
claims match names the one project the pipeline may post results to and read the gate of — the same
reach as an ingest token, and the same views admit it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jwt
from rest_framework import authentication, exceptions

from accounts.authentication import SecondFactorGate

from .authentication import ONLY_RESULTS, IngestClient
from .models import CIIdentityRule, CIIssuer

ALGORITHMS = ["RS256", "ES256"]
INVALID = "Invalid CI identity token."


@dataclass
class CIIdentity:
    """What an OIDC-authenticated pipeline is, in the shape the ingest views read (`project_id`, `name`)."""

    project: object
    name: str
    pk: str = "oidc"

    @property
    def project_id(self) -> int:
        return self.project.pk


@lru_cache(maxsize=32)
def jwks_client(url: str) -> jwt.PyJWKClient:
    """One client per JWKS URL in this process: keys are fetched once and kept 5 minutes (PyJWT's cache)."""
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=10)


def verify(token: str) -> CIIdentity:
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise exceptions.AuthenticationFailed(INVALID) from None
    issuer = CIIssuer.objects.filter(issuer=str(unverified.get("iss") or "")).first()
    if issuer is None:
        raise exceptions.AuthenticationFailed(INVALID)
    try:
        key = jwks_client(issuer.jwks_url).get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=ALGORITHMS, audience=issuer.audience, issuer=issuer.issuer,
                            options={"require": ["exp", "iat", "iss", "aud"]}, leeway=30)
    except (jwt.PyJWTError, jwt.PyJWKClientError):
        raise exceptions.AuthenticationFailed(INVALID) from None
    rule = next((r for r in CIIdentityRule.objects.filter(issuer=issuer).select_related("project")
                 if r.matches(claims) and r.project.archived_at is None), None)
    if rule is None:
        raise exceptions.AuthenticationFailed("No rule binds this CI identity to a project.")
    name = f"{claims.get('repository') or claims.get('project_path')}@{claims.get('ref', '')}"[:120]
    # One throttling bucket per rule (so per project), never one shared by every team's pipelines.
    return CIIdentity(project=rule.project, name=name, pk=f"oidc-{rule.pk}")


class _BearerAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer" or parts[1].count(b".") != 2:
            return None
        view = (getattr(request, "parser_context", None) or {}).get("view")
        identity = verify(parts[1].decode("ascii", errors="replace"))
        if not getattr(view, "ingest_token_view", False):
            raise exceptions.PermissionDenied(ONLY_RESULTS)
        return IngestClient(identity), identity

    def authenticate_header(self, request):
        return self.keyword


class CIIdentityAuthentication(SecondFactorGate, _BearerAuthentication):
    """Through the second-factor gate like every authentication class; the principal needs none."""

    def credential_verified(self, request, auth) -> bool:
        return False
