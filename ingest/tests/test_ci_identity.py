"""CI identity tokens: an issuer made here (RSA key generated, JWKS served on 127.0.0.1), JWTs signed
with PyJWT, verified by the portal against that JWKS: no mock of the verification."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from audit.models import AuditEvent
from ingest.models import CIIdentityRule, CIIssuer, CITokenUse, IngestToken, ResultUpload

from .conftest import AUDIENCE, upload

pytestmark = pytest.mark.django_db
EXCHANGE = "/api/v1/ci-identity/exchange/"


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
    assert bearer(api, issuer()).get(gate_url(org.project)).status_code == 200
    response = upload(bearer(api, issuer()), org.project, b'{"version": "2.1.0", "runs": []}', "sarif", commit="abcdef1")
    assert response.status_code == 202
    item = ResultUpload.objects.get()
    assert item.origin == "pipeline" and item.ci_identity == "fraud/scorer@refs/heads/main" and item.token is None


def test_it_reaches_only_its_project_and_only_the_ingest_endpoints(org, api, issuer, bound):
    # A token is accepted once (below): each request here presents a fresh one.
    assert bearer(api, issuer()).get(gate_url(org.other_project)).status_code == 404
    assert bearer(api, issuer()).get("/api/v1/projects/").status_code == 403
    assert bearer(api, issuer()).get(f"/api/v1/projects/{org.project.pk}/ingest-tokens/").status_code == 403


@pytest.mark.parametrize("claims", [
    {"aud": "https://elsewhere.example"},
    {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    {"exp": None},
    {"exp": int(time.time()) + 7200},  # lives two hours: longer than the one hour the portal accepts
    {"iat": int(time.time()) - 3000, "exp": int(time.time()) + 1200},  # 70 minutes from its issue
    {"repository": "someone/else"},
    {"ref": "refs/heads/feature"},
    {"iss": "https://unregistered.example"},
])
def test_a_wrong_audience_expiry_claim_or_issuer_gets_401(org, api, issuer, bound, claims):
    assert bearer(api, issuer(**claims)).get(gate_url(org.project)).status_code == 401


def test_a_token_signed_by_another_key_gets_401(org, api, issuer, bound):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert bearer(api, issuer(signing_key=stranger)).get(gate_url(org.project)).status_code == 401


@pytest.mark.parametrize("jti", ["a-unique-id", None])
def test_a_token_is_accepted_once_and_a_replay_gets_401(org, api, issuer, bound, jti):
    token = issuer(jti=jti)  # without `jti` the token itself is what is remembered
    assert bearer(api, token).get(gate_url(org.project)).status_code == 200
    again = bearer(api, token).get(gate_url(org.project))
    assert again.status_code == 401 and "already used" in again.json()["detail"]
    replayed = upload(bearer(api, token), org.project, b'{"version": "2.1.0", "runs": []}', "sarif")
    assert replayed.status_code == 401 and not ResultUpload.objects.exists()
    assert CITokenUse.objects.count() == 1


def test_a_jti_used_once_is_refused_in_another_token_of_the_issuer(org, api, issuer, bound):
    assert bearer(api, issuer(jti="same")).get(gate_url(org.project)).status_code == 200
    assert bearer(api, issuer(jti="same", ref="refs/heads/main")).get(gate_url(org.project)).status_code == 401


def test_uses_past_their_expiry_are_pruned_when_a_token_is_recorded(org, api, issuer, bound):
    gone = timezone.now() - dt.timedelta(hours=2)
    CITokenUse.objects.create(key="0" * 64, issuer=bound, expires_at=gone)
    CITokenUse.objects.create(key="1" * 64, issuer=bound, expires_at=timezone.now() + dt.timedelta(minutes=5))
    assert bearer(api, issuer()).get(gate_url(org.project)).status_code == 200
    assert not CITokenUse.objects.filter(key="0" * 64).exists() and CITokenUse.objects.filter(key="1" * 64).exists()


def test_a_token_on_a_view_that_refuses_it_is_not_used_up(org, api, issuer, bound):
    token = issuer()
    assert bearer(api, token).get("/api/v1/projects/").status_code == 403
    assert bearer(api, token).get(gate_url(org.project)).status_code == 200


def test_the_token_is_exchanged_once_for_a_key_living_as_long_as_it(org, api, issuer, bound, token_client):
    token = issuer(exp=int(time.time()) + 600)
    response = bearer(api, token).post(EXCHANGE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token"].startswith("mlsi_") and body["project"] == org.project.pk and response["Cache-Control"] == "no-store"
    key = IngestToken.objects.get()
    assert key.ci_identity == "fraud/scorer@refs/heads/main" and key.created_by is None
    assert abs((key.expires_at - timezone.now()).total_seconds() - 600) < 60
    assert AuditEvent.objects.filter(action="ingest.ci_identity_exchange").exists()
    assert bearer(api, token).post(EXCHANGE).status_code == 401  # the token is used up
    client = token_client(body["token"])
    assert client.get(gate_url(org.project)).status_code == 200
    assert upload(client, org.project, b'{"version": "2.1.0", "runs": []}', "sarif").status_code == 202
    assert ResultUpload.objects.get().ci_identity == "fraud/scorer@refs/heads/main"
    assert client.get(gate_url(org.other_project)).status_code == 404
    assert client.post(EXCHANGE).status_code == 403  # an ingest key is not exchanged again
    IngestToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(gate_url(org.project)).status_code == 401


def test_only_a_ci_identity_token_is_exchanged(org, api, issuer, bound):
    assert api(org.lead).post(EXCHANGE).status_code == 403
    assert api().post(EXCHANGE).status_code == 401
    assert bearer(api, issuer(repository="someone/else")).post(EXCHANGE).status_code == 401
    assert not IngestToken.objects.exists()
