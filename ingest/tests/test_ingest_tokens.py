"""Ingest tokens: who makes them, shown once, stored hashed, expiring, revocable, audited, and good for
nothing but their own project's results and gate."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from audit.models import AuditEvent
from ingest.models import IngestToken

from .conftest import upload

pytestmark = pytest.mark.django_db
ALLOWED = {"projects/{pk}/results/", "projects/{pk}/gate/", "results/{pk}/"}
# Signing in reads credentials from the body only and ignores any Authorization header: the token
# gets nothing there either (an empty body is a 400).
SIGN_IN = ("post", "/api/v1/auth/token/")
NAMED = {"code": "MLS-01", "slug": "fraud", "key": "model-serialization"}  # real objects behind each route


def tokens_url(project):
    return f"/api/v1/projects/{project.pk}/ingest-tokens/"


def in_a_month():
    return (timezone.now().date() + dt.timedelta(days=30)).isoformat()


@pytest.mark.parametrize("who", ["lead", "officer"])
def test_a_lead_or_an_officer_makes_a_token_shown_once_and_stored_as_a_digest(org, api, who):
    response = api(getattr(org, who)).post(tokens_url(org.project), {"name": "github", "expires_on": in_a_month()})
    assert response.status_code == 201, response.json()
    key = response.json()["token"]
    assert key.startswith("mlsi_") and response["Cache-Control"] == "no-store"
    stored = IngestToken.objects.get(pk=response.json()["id"])
    assert stored.digest == hashlib.sha256(key.encode()).hexdigest()
    assert not IngestToken.objects.filter(digest__contains=key[5:20]).exists()
    listed = api(org.lead).get(tokens_url(org.project)).json()
    assert listed[0]["name"] == "github" and "token" not in listed[0] and listed[0]["state"] == "active"
    event = AuditEvent.objects.get(action="ingest.token_create")
    assert key not in str(event.changes) and event.actor == getattr(org, who)


@pytest.mark.parametrize("who,status", [("member", 403), ("auditor", 403), ("other_lead", 404), ("nobody", 404)])
def test_others_cannot_list_or_make_tokens(org, api, who, status):
    client = api(getattr(org, who))
    assert client.get(tokens_url(org.project)).status_code == status
    assert client.post(tokens_url(org.project), {"name": "x", "expires_on": in_a_month()}).status_code == status
    assert not IngestToken.objects.exists()


@pytest.mark.parametrize("expires_on,field", [("2001-01-01", "expires_on"), ("2999-01-01", "expires_on")])
def test_an_expiry_in_the_past_or_too_far_ahead_is_refused(org, api, expires_on, field):
    response = api(org.lead).post(tokens_url(org.project), {"name": "x", "expires_on": expires_on})
    assert response.status_code == 400 and field in response.json()
    assert not IngestToken.objects.exists()


def test_a_revoked_token_gets_401_and_the_revocation_is_audited(org, api, ingest_key, token_client):
    key = ingest_key()
    client = token_client(key)
    gate = f"/api/v1/projects/{org.project.pk}/gate/?commit=abcdef1"
    assert client.get(gate).status_code == 200
    token = IngestToken.objects.get()
    assert api(org.member).delete(f"{tokens_url(org.project)}{token.pk}/").status_code == 403
    assert api(org.lead).delete(f"{tokens_url(org.project)}{token.pk}/").status_code == 204
    assert client.get(gate).status_code == 401
    assert AuditEvent.objects.filter(action="ingest.token_revoke", actor=org.lead).count() == 1
    assert api(org.lead).get(f"{tokens_url(org.project)}{token.pk}/").json()["state"] == "revoked"


def test_an_expired_token_gets_401(org, ingest_key, token_client):
    key = ingest_key()
    IngestToken.objects.update(expires_on=timezone.now().date() - dt.timedelta(days=1))
    assert token_client(key).get(f"/api/v1/projects/{org.project.pk}/gate/?commit=abcdef1").status_code == 401


def test_an_unknown_or_mangled_ingest_key_gets_401(org, token_client):
    for key in ("mlsi_" + "A" * 43, "mlsi_", "mlsi_" + "é"):
        assert token_client(key).get(f"/api/v1/projects/{org.project.pk}/gate/?commit=abcdef1").status_code == 401


def test_a_token_reaches_only_its_own_project(org, ingest_key, token_client, tmp_path):
    client = token_client(ingest_key())
    other = org.other_project.pk
    assert client.get(f"/api/v1/projects/{other}/gate/?commit=abcdef1").status_code == 404
    response = upload(client, org.other_project, b'{"version": "2.1.0", "runs": []}', "sarif")
    assert response.status_code == 404
    mine = upload(client, org.project, b'{"version": "2.1.0", "runs": []}', "sarif")
    assert mine.status_code == 202
    from ingest.models import ResultUpload

    theirs = ResultUpload.objects.create(project=org.other_project, format="sarif", origin="person", storage_name="x",
                                         sha256="0" * 64, size=1)
    assert client.get(f"/api/v1/results/{theirs.pk}/").status_code == 404
    assert client.get(mine.json()["status_url"]).status_code == 200


def _routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, text)
        elif isinstance(pattern, URLPattern):
            yield text


def _concrete(route: str, pk: int) -> str | None:
    if "format" in route:  # DRF's suffix variants: the same views
        return None
    route = route.replace("^", "").replace("$", "").replace("\\", "")
    value = lambda m: NAMED.get(m.group(1), str(pk))  # noqa: E731
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", value, route)
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", value, route)


def test_the_token_gets_401_or_403_on_every_other_endpoint(org, ingest_key, token_client):
    client = token_client(ingest_key())
    pk = org.project.pk
    api_routes = [r for r in (_concrete(r, pk) for r in _routes()) if r and r.startswith("/api/")]
    assert len(api_routes) > 40
    checked = 0
    for route in api_routes:
        if route.removeprefix("/api/v1/").replace(str(pk), "{pk}") in ALLOWED:
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            response = getattr(client, method)(route)
            if (method, route) == SIGN_IN:
                assert response.status_code == 400 and "token" not in response.json()
                continue
            if response.status_code == 302:  # a Django page under /api/ (the docs): the header signs nobody in
                assert "/accounts/login/" in response["Location"], route
                continue
            assert response.status_code in (401, 403, 405), (method, route, response.status_code)
            assert response.status_code != 405 or method != "get", route
            checked += 1
    assert checked > 200


def test_the_token_opens_no_page_of_the_portal(org, ingest_key, token_client):
    """Pages ignore the header: with the token, every page answers as it does to nobody at all."""
    from django.test import Client

    client, anonymous = token_client(ingest_key()), Client()
    pk = org.project.pk
    pages = [r for r in (_concrete(r, pk) for r in _routes()) if r and not r.startswith(("/api/", "/static"))]
    assert len(pages) > 20
    for route in pages:
        assert client.get(route).status_code == anonymous.get(route).status_code, route
