"""OpenID Connect sign-in with mozilla-django-oidc, for one or more providers.

mozilla-django-oidc runs the protocol: authorization code with PKCE (S256), `state` and `nonce` kept in
the session, the token request, JWKS signature checks. This module chooses the provider (its endpoints
from discovery, its client from the portal's settings or the environment) and adds what the library
leaves out: the ID token's audience, issuer, expiry and `azp` are checked with PyJWT, the userinfo
`sub` must be the token's, users are matched by (issuer, subject), created just in time, and their
groups go through the group rules (identity/rules.py) at every sign-in.
"""

from __future__ import annotations

import logging
import re

import jwt
import requests
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from accounts.choices import IdentitySource, MembershipSource
from audit.services import audit_alone, audit_record

from .models import ExternalIdentity
from .providers import ProviderConfig, ProviderUnavailable, discovery, provider_by_slug
from .rules import apply_groups

logger = logging.getLogger(__name__)

STATE_PROVIDERS = "oidc_state_providers"  # session: {state: provider slug}
ALLOWED_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY_S = 60


def signing_alg(metadata: dict) -> str:
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    return next((a for a in offered if a in ALLOWED_ALGS), "RS256")


def claim_groups(claims: dict, claim: str) -> list[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _text(claims: dict, name: str) -> str:
    """A profile claim as text: a provider that sends a number, a list or an object sends nothing usable."""
    value = claims.get(name)
    return value if isinstance(value, str) else ""


def _verified_email(claims: dict) -> str:
    """The e-mail only when the provider says it verified it (a missing claim is no such statement)."""
    return _text(claims, "email") if claims.get("email_verified") is True else ""


def _username_for(claims: dict) -> str:
    User = get_user_model()
    raw = _text(claims, "preferred_username") or _text(claims, "email").split("@")[0] or claims["sub"]
    base = re.sub(r"[^\w.@+-]", "-", str(raw))[:140] or "user"
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


class SignInFailed(Exception):
    pass


class PortalOIDCBackend(OIDCAuthenticationBackend):
    """Authenticates only an OpenID Connect callback (a request carrying `code` and `state`)."""

    def __init__(self, *args, **kwargs):
        # The library reads one provider from settings here; ours is chosen per sign-in.
        self.UserModel = get_user_model()
        self.provider: ProviderConfig | None = None
        self.metadata: dict = {}

    def get_settings(self, attr, *args):
        if self.provider is not None:
            if attr == "OIDC_RP_SCOPES":
                return self.provider.scopes
            if attr == "OIDC_TOKEN_USE_BASIC_AUTH":
                return bool(self.provider.client_secret)
        return import_from_settings(attr, *args)

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def authenticate(self, request, nonce=None, code_verifier=None, **kwargs):
        if request is None or nonce is None or "code" not in request.GET:
            return None  # a password sign-in, or anything but an OIDC callback
        state = request.GET.get("state", "")
        slug = (request.session.get(STATE_PROVIDERS) or {}).pop(state, None)
        request.session.modified = True
        provider = provider_by_slug(slug) if slug else None
        if provider is None:
            return None
        try:
            self._use(provider)
            return super().authenticate(request, nonce=nonce, code_verifier=code_verifier)
        except (requests.RequestException, SuspiciousOperation, jwt.PyJWTError, ProviderUnavailable,
                SignInFailed, ValueError, KeyError) as exc:
            logger.warning("OIDC sign-in through %s refused: %s", provider.slug, type(exc).__name__)
            audit_alone(actor=None, action="auth.sso_failed", object_type="identity.provider",
                        object_id=provider.slug, object_repr=provider.label,
                        extra={"reason": type(exc).__name__, "detail": str(exc)[:200]})
            return None

    def _use(self, provider: ProviderConfig) -> None:
        self.provider = provider
        self.metadata = discovery(provider)
        self.OIDC_OP_TOKEN_ENDPOINT = self.metadata["token_endpoint"]
        self.OIDC_OP_USER_ENDPOINT = self.metadata.get("userinfo_endpoint")
        self.OIDC_OP_JWKS_ENDPOINT = self.metadata["jwks_uri"]
        self.OIDC_RP_CLIENT_ID = provider.client_id
        self.OIDC_RP_CLIENT_SECRET = provider.client_secret
        self.OIDC_RP_SIGN_ALGO = signing_alg(self.metadata)
        self.OIDC_RP_IDP_SIGN_KEY = None

    def get_token(self, payload):
        if not self.provider.client_secret:
            payload.pop("client_secret", None)  # a public client authenticates with PKCE alone
        return super().get_token(payload)

    def verify_token(self, token, **kwargs):
        """Signature (JWKS, the library's key match), then audience, issuer, expiry, `azp` and nonce."""
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in ALLOWED_ALGS:
            raise SuspiciousOperation("ID token algorithm not allowed")
        key = self.retrieve_matching_jwk(token)
        payload = jwt.decode(
            token, key, algorithms=[header["alg"]], audience=self.provider.client_id,
            issuer=self.metadata["issuer"], leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        azp = payload.get("azp")
        if azp is not None and azp != self.provider.client_id:
            raise SuspiciousOperation("ID token issued to another client")
        if "nonce" in kwargs and payload.get("nonce") != kwargs["nonce"]:
            raise SuspiciousOperation("ID token nonce does not match")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = {}
        if self.OIDC_OP_USER_ENDPOINT and access_token:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if not isinstance(userinfo, dict) or userinfo.get("sub") != payload["sub"]:
                raise SignInFailed("userinfo names another subject")
        claims = {**userinfo, **payload}  # the signed token wins (amr, acr, auth_time live there)
        with transaction.atomic():
            user = self._user_for(claims)
            if not user.is_active:
                raise SignInFailed("the account is deactivated")
            self._refresh_profile(user, claims)
            apply_groups(user=user, groups=claim_groups(claims, self.provider.groups_claim),
                         source=MembershipSource.SSO, via=f"sso:{self.provider.slug}")
        user._sso_provider = self.provider
        user._sso_mfa = self.provider.proves_mfa(payload)
        return user

    @transaction.atomic  # composable: in get_or_create_user's transaction
    def _user_for(self, claims: dict):
        issuer, subject = self.metadata["issuer"], str(claims["sub"])
        link = ExternalIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
        if link is not None:
            link.last_sign_in = timezone.now()
            link.save(update_fields=["last_sign_in"])
            return link.user
        user = self._provisioned_match(claims, issuer)
        if user is None:
            user = self.UserModel(username=_username_for(claims), email=_verified_email(claims)[:254],
                                  first_name=_text(claims, "given_name")[:150],
                                  last_name=_text(claims, "family_name")[:150],
                                  identity_source=IdentitySource.SSO)
            user.set_unusable_password()
            user.save()
            audit_record(actor=None, action="user.create", obj=user,
                         after={"username": user.username, "email": user.email, "identity_source": "sso"},
                         extra={"via": f"sso:{self.provider.slug}"})
        try:
            with transaction.atomic():
                ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject, last_sign_in=timezone.now())
        except IntegrityError:
            raise SignInFailed("this subject was linked meanwhile") from None
        audit_record(actor=None, action="identity.link", obj=user, after={"issuer": issuer, "subject": subject},
                     extra={"via": f"sso:{self.provider.slug}"})
        return user

    def _provisioned_match(self, claims: dict, issuer: str):
        """A SCIM-provisioned user with the token's e-mail, verified by the provider, linked to no identity yet.

        Never a portal (local) account: an e-mail address at a provider is no proof of owning one. Never a
        user already linked to an identity (at this provider or another): a second provider asserting the
        same address would otherwise take the account over. A missing `email_verified` is not verified.
        """
        email = _verified_email(claims)
        if not email:
            return None
        candidates = list(self.UserModel.objects.filter(email__iexact=email, identity_source=IdentitySource.SCIM,
                                                        external_identities__isnull=True)[:2])
        return candidates[0] if len(candidates) == 1 else None

    @transaction.atomic  # composable: in get_or_create_user's transaction
    def _refresh_profile(self, user, claims: dict) -> None:
        changed = {}
        for field, claim in (("email", "email"), ("first_name", "given_name"), ("last_name", "family_name")):
            # The portal mails notifications to this address: only one the provider verified replaces it.
            value = _verified_email(claims) if field == "email" else claims.get(claim)
            if isinstance(value, str) and value and getattr(user, field) != value[:150]:
                changed[field] = (getattr(user, field), value[:150])
                setattr(user, field, value[:150])
        if changed:
            user.save(update_fields=list(changed))
            audit_record(actor=None, action="user.update", obj=user, before={k: v[0] for k, v in changed.items()},
                         after={k: v[1] for k, v in changed.items()}, extra={"via": f"sso:{self.provider.slug}"})


def provider_logout_url(request) -> str:
    """RP-initiated logout at the provider the session signed in through (mozilla-django-oidc calls it)."""
    from urllib.parse import urlencode

    from django.conf import settings
    from django.shortcuts import resolve_url

    fallback = resolve_url(settings.LOGOUT_REDIRECT_URL)
    provider = provider_by_slug(request.session.get("sso_provider", ""))
    if provider is None:
        return fallback
    try:
        endpoint = discovery(provider).get("end_session_endpoint")
    except ProviderUnavailable:
        return fallback
    if not endpoint:
        return fallback
    params = {"client_id": provider.client_id}
    if request.session.get("oidc_id_token"):
        params["id_token_hint"] = request.session["oidc_id_token"]
    return f"{endpoint}?{urlencode(params)}"
