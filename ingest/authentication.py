"""`Authorization: Token mlsi_…`: a pipeline's ingest token, admitted only by the ingest views.

The class runs before knox's (which would refuse a key it does not know). A view admits ingest
tokens by setting `ingest_token_view = True`; every other view answers 403, so a leaked token
reads nothing and writes nothing but its own project's results and gate. Unknown, expired and
revoked keys get 401.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.authentication import SecondFactorGate

from .tokens import PREFIX, token_for_key

ONLY_RESULTS = "An ingest token may only post results to its project and read its gate."


class IngestClient(AnonymousUser):
    """The principal behind an ingest token: authenticated, a member of nothing, an officer of nothing."""

    def __init__(self, token):
        self.token = token
        # Throttles key on the pk: each token has a bucket of its own. Never used in a query.
        self.pk = self.id = f"ingest-{token.pk}"

    @property
    def is_authenticated(self) -> bool:
        return True

    is_active = True
    sees_everything = False
    is_officer = is_org_admin = is_auditor = requires_mfa = False

    def __str__(self) -> str:
        return f"pipeline ({self.token.name})"


class _IngestKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower().encode():
            return None
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            return None
        if not key.startswith(PREFIX):
            return None
        token = token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked ingest token.")
        view = (getattr(request, "parser_context", None) or {}).get("view")
        if not getattr(view, "ingest_token_view", False):
            raise exceptions.PermissionDenied(ONLY_RESULTS)
        type(token).objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return IngestClient(token), token

    def authenticate_header(self, request):
        return self.keyword


class IngestTokenAuthentication(SecondFactorGate, _IngestKeyAuthentication):
    """Through the second-factor gate like every authentication class (tests/test_second_factor_everywhere.py):
    the principal is no person and requires no second factor, so the gate lets it through unchanged."""

    def credential_verified(self, request, auth) -> bool:
        return False
