"""CI identity tokens: `Authorization: Bearer <JWT>` from GitHub Actions or GitLab, verified with PyJWT.

The token's `iss` must be a registered `CIIssuer`; its signature is checked against that issuer's
JWKS, and its audience, expiry and issue time are required. A `CIIdentityRule` of the issuer whose
claims match names the one project the pipeline may post results to and read the gate of — the same
reach as an ingest token, and the same views admit it.

A token is accepted once: its `jti` (or, without one, the token's digest) is recorded until it
expires and a second use is a 401, so a token that leaks from a job's logs cannot be replayed. A
token must expire, and live at most `MLSEC_CI_TOKEN_MAX_LIFETIME_S` (an hour by default). A job
that makes several requests exchanges its token once (`POST ci-identity/exchange/`) for an ingest
key that lives exactly as long as the token (`mlsec` does this itself).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import lru_cache

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.authentication import SecondFactorGate

from .authentication import ONLY_RESULTS, IngestClient
from .models import CIIdentityRule, CIIssuer, CITokenUse

ALGORITHMS = ["RS256", "ES256"]
INVALID = "Invalid CI identity token."
LEEWAY_S = 30
REPLAYED = ("This CI identity token was already used: a token is accepted once. Ask the CI for a new one, or "
            "exchange it once (POST /api/v1/ci-identity/exchange/) for a key the job reuses (mlsec does).")


def max_lifetime_s() -> int:
    return int(getattr(settings, "MLSEC_CI_TOKEN_MAX_LIFETIME_S", 3600))


@dataclass
class CIIdentity:
    """What an OIDC-authenticated pipeline is, in the shape the ingest views read (`project_id`, `name`)."""

    project: object
    name: str
    pk: str = "oidc"
    expires_at: dt.datetime | None = None

    @property
    def project_id(self) -> int:
        return self.project.pk


@lru_cache(maxsize=32)
def jwks_client(url: str) -> jwt.PyJWKClient:
    """One client per JWKS URL in this process: keys are fetched once and kept 5 minutes (PyJWT's cache)."""
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=10)


def verify(token: str, *, consume: bool = True) -> CIIdentity:
    """The identity of a valid token bound to a project; with `consume`, the token's one use is recorded."""
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
                            options={"require": ["exp", "iat", "iss", "aud"]}, leeway=LEEWAY_S)
    except (jwt.PyJWTError, jwt.PyJWKClientError):
        raise exceptions.AuthenticationFailed(INVALID) from None
    expires = _lifetime_checked(claims)
    rule = next((r for r in CIIdentityRule.objects.filter(issuer=issuer).select_related("project")
                 if r.matches(claims) and r.project.archived_at is None), None)
    if rule is None:
        raise exceptions.AuthenticationFailed("No rule binds this CI identity to a project.")
    use = _use_key(issuer, claims, token)
    if consume:
        _consume(issuer, use, expires)
    elif CITokenUse.objects.filter(key=use).exists():
        raise exceptions.AuthenticationFailed(REPLAYED)
    name = f"{claims.get('repository') or claims.get('project_path')}@{claims.get('ref', '')}"[:120]
    # One throttling bucket per rule (so per project), never one shared by every team's pipelines.
    return CIIdentity(project=rule.project, name=name, pk=f"oidc-{rule.pk}", expires_at=expires)


def _lifetime_checked(claims: dict) -> dt.datetime:
    """The token's expiry; refused when it would live longer than the maximum (from `iat`, or from now)."""
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or not isinstance(iat, int | float):
        raise exceptions.AuthenticationFailed(INVALID)
    longest = max_lifetime_s()
    now = timezone.now().timestamp()
    if exp - iat > longest or exp - now > longest + LEEWAY_S:
        raise exceptions.AuthenticationFailed(
            f"This CI identity token lives longer than {longest} s: the portal accepts only short-lived tokens.")
    return dt.datetime.fromtimestamp(exp, tz=dt.UTC)


def _use_key(issuer: CIIssuer, claims: dict, token: str) -> str:
    jti = claims.get("jti")
    if isinstance(jti, str) and jti:
        return hashlib.sha256(f"{issuer.pk}\x1fjti\x1f{jti}".encode()).hexdigest()
    return hashlib.sha256(f"{issuer.pk}\x1ftoken\x1f{token}".encode()).hexdigest()


def _consume(issuer: CIIssuer, use: str, expires: dt.datetime) -> None:
    """Record the token's one use (pruning uses past their expiry first); a second use is a 401."""
    now = timezone.now()
    CITokenUse.objects.filter(expires_at__lt=now - dt.timedelta(seconds=LEEWAY_S)).delete()
    try:
        with transaction.atomic():
            CITokenUse.objects.create(key=use, issuer=issuer, expires_at=expires + dt.timedelta(seconds=LEEWAY_S))
    except IntegrityError:
        raise exceptions.AuthenticationFailed(REPLAYED) from None


class _BearerAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer" or parts[1].count(b".") != 2:
            return None
        view = (getattr(request, "parser_context", None) or {}).get("view")
        admitted = getattr(view, "ingest_token_view", False) or getattr(view, "ci_identity_exchange_view", False)
        # Verified everywhere (a bad token is a 401), but only a view that admits it uses it up.
        identity = verify(parts[1].decode("ascii", errors="replace"), consume=admitted)
        if not admitted:
            raise exceptions.PermissionDenied(ONLY_RESULTS)
        return IngestClient(identity), identity

    def authenticate_header(self, request):
        return self.keyword


class CIIdentityAuthentication(SecondFactorGate, _BearerAuthentication):
    """Through the second-factor gate like every authentication class; the principal needs none."""

    def credential_verified(self, request, auth) -> bool:
        return False
