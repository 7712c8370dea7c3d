"""CI identity tokens: an issuer made here (RSA key generated, JWKS served on 127.0.0.1), JWTs signed
with PyJWT, verified by the portal against that JWKS: no mock of the verification."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ingest.models import CIIdentityRule, CIIssuer, ResultUpload

from .conftest import AUDIENCE, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def bound(org, issuer):
    registered = CIIssuer.objects.create(issuer=issuer.url, jwks_url=f"{issuer.url}/jwks", audience=AUDIENCE)
    CIIdentityRule.objects.create(issuer=registered, project=org.project, repository="fraud/scorer",
                                  ref="refs/heads/main")
    return registered


def bearer(api, token):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def gate_url(project):
    return f"/api/v1/projects/{project.pk}/gate/?commit=abcdef1"


def test_a_matching_ci_identity_reads_the_gate_and_pushes_results(org, api, issuer, bound):
    client = bearer(api, issuer())
    assert client.get(gate_url(org.project)).status_code == 200
    response = upload(client, org.project, b'{"version": "2.1.0", "runs": []}', "sarif", commit="abcdef1")
    assert response.status_code == 202
    item = ResultUpload.objects.get()
    assert item.origin == "pipeline" and item.ci_identity == "fraud/scorer@refs/heads/main" and item.token is None


def test_it_reaches_only_its_project_and_only_the_ingest_endpoints(org, api, issuer, bound):
    client = bearer(api, issuer())
    assert client.get(gate_url(org.other_project)).status_code == 404
    assert client.get("/api/v1/projects/").status_code == 403
    assert client.get(f"/api/v1/projects/{org.project.pk}/ingest-tokens/").status_code == 403


@pytest.mark.parametrize("claims", [
    {"aud": "https://elsewhere.example"},
    {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    {"exp": None},
    {"repository": "someone/else"},
    {"ref": "refs/heads/feature"},
    {"iss": "https://unregistered.example"},
])
def test_a_wrong_audience_expiry_claim_or_issuer_gets_401(org, api, issuer, bound, claims):
    assert bearer(api, issuer(**claims)).get(gate_url(org.project)).status_code == 401


def test_a_token_signed_by_another_key_gets_401(org, api, issuer, bound):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert bearer(api, issuer(signing_key=stranger)).get(gate_url(org.project)).status_code == 401
