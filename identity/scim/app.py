"""/scim/v2/: scim2-server's handler behind a Django view, authenticated by a SCIM bearer token.

The token is the only credential accepted here (no session, no API token), and it reaches nothing but
SCIM: least privilege for the provisioning client.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from scim2_models import ScimProvider, UnauthorizedException
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.requests import ScimRequest
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

from identity.models import ScimToken

from .storage import PortalScimStorage

LAST_USED_EVERY = dt.timedelta(minutes=1)


def token_for(key: str) -> ScimToken | None:
    if not key or len(key) > 200:
        return None
    return ScimToken.objects.filter(digest=ScimToken.digest_of(key), revoked_at__isnull=True).first()


class PortalScimApplication(WSGIApplication):
    def check_auth(self, request: ScimRequest) -> None:
        scheme, _, key = (request.header("Authorization") or "").partition(" ")
        token = token_for(key.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            raise UnauthorizedException
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
            ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
        request.subject = token
        self.storage.actor_label = token.name

    def get_subject(self, request: ScimRequest):
        return request.subject


@lru_cache(maxsize=1)
def application() -> PortalScimApplication:
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(load_default_schemas().values(), load_default_resource_types().values(),
                                           config=config)
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    return PortalScimApplication(PortalScimStorage(provider), provider, service=service)


@csrf_exempt
def scim_view(request: HttpRequest, path: str = "") -> HttpResponse:
    app = application()
    headers = {k: v for k, v in request.headers.items()}
    scim_request = ScimRequest(
        method=request.method, base_url=request.build_absolute_uri("/scim/v2").rstrip("/"),
        path="/" + path.strip("/") if path.strip("/") else "", query=dict(request.GET.items()),
        headers=headers, body=request.body,
    )
    with app.storage.lock:  # one request at a time sees the storage's actor
        response = app.serve(scim_request)
        app.storage.actor_label = ""
    body = b"" if response.body is None else json.dumps(response.body).encode()
    http = HttpResponse(body, status=response.status.value)
    for name, value in response.headers.items():
        http[name] = value
    return http
