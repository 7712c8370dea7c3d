"""Nothing public that should not be: every URL the portal routes, asked anonymously, answers 401 or sends to sign-in.

Only the sign-in forms themselves answer an anonymous visitor. The sweep walks every route (pages,
API, schema, admin), so a view added later without authentication fails here.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

# Routes an anonymous visitor may open: the forms that sign people in, and signing out, and the page
# that turns a single-use invitation link into an account (404 without a valid link).
PUBLIC = {"login", "admin:login", "logout", "admin:logout", "invitation-accept"}
# Sample values for route arguments, by name, then by converter.
SAMPLES = {"pk": "1", "seq": "1", "user_id": "1", "slug": "fraud", "code": "MLS-01", "format": "json", "key": "x",
           "object_id": "1", "content_type_id": "1", "app_label": "accounts", "url": "x/"}
BY_CONVERTER = {"UUIDConverter": "00000000-0000-4000-8000-000000000001", "IntConverter": "1",
                "SlugConverter": "fraud", "PathConverter": "x", "FormatSuffixConverter": ".json"}
LOGIN_URLS = ("/accounts/login/", "/admin/login/")


def routes(resolver: URLResolver, prefix: str = "", namespace: str = "", converters=None):
    """(name, regex, converters) for every route, the regex holding the whole path."""
    for entry in resolver.url_patterns:
        regex = entry.pattern.regex.pattern.lstrip("^").rstrip("$").replace(r"\Z", "")
        found = {**(converters or {}), **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from routes(entry, prefix + regex, inner, found)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", prefix + regex, found


def sample_path(regex: str, converters: dict) -> str:
    def fill(match):
        name = match.group(1)
        if name in converters:
            kind = type(converters[name]).__name__
            return BY_CONVERTER.get(kind, SAMPLES.get(name, "1") if kind == "StringConverter" else ".json")
        return SAMPLES.get(name, "1")

    path = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", fill, regex)
    path = re.sub(r"\((?:\?:)?[^)]*\)\??", "", path).replace("\\", "").replace("?", "")
    return "/" + path


def test_nothing_but_sign_in_answers_an_anonymous_visitor(client, db):
    problems, checked = [], 0
    for name, regex, converters in routes(get_resolver()):
        path = sample_path(regex, converters)
        if name in PUBLIC or ".*" in regex:  # the admin's catch-all only redirects
            continue
        response = client.get(path)
        checked += 1
        status = response.status_code
        if status in (401, 403, 405):
            continue
        if status in (301, 302) and response["Location"].startswith(LOGIN_URLS):
            continue
        problems.append(f"{path} ({name}) answers {status} to an anonymous visitor")
    assert checked > 100, checked
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_api_schema_and_its_docs_require_sign_in(client, org, path):
    anonymous = client.get(path)
    assert anonymous.status_code in (401, 302) and b"openapi" not in anonymous.content.lower()
    client.force_login(org.member)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_api_schema_needs_the_second_factor_of_roles_that_require_one(client, org, settings, path):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.MLSEC_REQUIRE_MFA = True
    TOTPDevice.objects.create(user=org.auditor, name="phone", confirmed=True)
    client.force_login(org.auditor)  # a password-only session
    response = client.get(path)
    assert response.status_code in (302, 401, 403) and b"openapi" not in response.content.lower()
