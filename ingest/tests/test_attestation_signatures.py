"""DSSE signatures of in-toto attestations, checked against the keys of the project's signing policy.

Envelopes are signed here by securesystemslib (the DSSE implementation in-toto uses), with keys made
here; the portal verifies them with `cryptography` over the PAE encoding: no mock of either side."""

from __future__ import annotations

import base64
import json

import pytest
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner

from checks.models import CheckRun
from checks.policy_services import signing_policy_set
from ingest.parsers.attestations import pae

from .conftest import upload

pytestmark = pytest.mark.django_db
SHA = "abcdef1234567"  # pragma: allowlist secret
PAYLOAD_TYPE = "application/vnd.in-toto+json"


def statement(result="PASSED", name="model.safetensors") -> bytes:
    return json.dumps({"_type": "https://in-toto.io/Statement/v1",
                       "predicateType": "https://in-toto.io/attestation/test-result/v0.1",
                       "subject": [{"name": name, "digest": {"sha256": "ab" * 32}}],
                       "predicate": {"result": result, "configuration": [], "passedTests": ["eval"]}}).encode()


def signed(signer, body: bytes) -> dict:
    envelope = Envelope(payload=body, payload_type=PAYLOAD_TYPE, signatures={})
    envelope.sign(signer)
    return envelope.to_dict()


@pytest.fixture
def trusted():
    return CryptoSigner.generate_ecdsa()


@pytest.fixture
def policy(org, trusted):
    def make(required=False):
        signing_policy_set(actor=org.officer, project=org.project, required=required, signers=[
            {"name": "ci-key", "kind": "key", "material": trusted.public_key.keyval["public"]}])

    return make


@pytest.fixture
def client(org, ingest_key, token_client):
    return token_client(ingest_key())


def send(client, org, documents, capture):
    body = "\n".join(json.dumps(d) for d in documents).encode()
    with capture(execute=True):
        response = upload(client, org.project, body, "in-toto", commit=SHA)
    assert response.status_code == 202, response.content
    return client.get(response.json()["status_url"]).json()


def test_the_portals_pae_is_the_dsse_one():
    envelope = Envelope(payload=b'{"a": 1}', payload_type=PAYLOAD_TYPE, signatures={})
    assert pae(PAYLOAD_TYPE, b'{"a": 1}') == envelope.pae()


def test_a_signature_by_a_trusted_key_is_verified_and_others_are_not(org, client, policy, trusted,
                                                                      django_capture_on_commit_callbacks):
    policy()
    stranger = CryptoSigner.generate_ecdsa()
    tampered = signed(trusted, statement())
    tampered["payload"] = base64.b64encode(statement(name="swapped.safetensors")).decode()
    naive = {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(statement(name="naive.bin")).decode(),
             "signatures": [{"keyid": "", "sig": base64.b64encode(  # over the payload alone, not its PAE
                 bytes.fromhex(trusted.sign(statement(name="naive.bin")).signature)).decode()}]}
    unsigned = json.loads(statement(name="bare.bin"))
    status = send(client, org, [signed(trusted, statement()), signed(stranger, statement(name="other.bin")),
                                tampered, naive, unsigned], django_capture_on_commit_callbacks)
    states = {a["name"]: (a["signature"], a["signed_by"]) for a in status["assets"]}
    assert states == {"model.safetensors": ("verified", "ci-key"), "other.bin": ("unverified", ""),
                      "swapped.safetensors": ("unverified", ""), "naive.bin": ("unverified", ""),
                      "bare.bin": ("unsigned", "")}
    assert status["detail"] == "DSSE signatures: 1 verified (by ci-key), 3 not verified by a trusted key, 1 unsigned"
    run = CheckRun.objects.get(pk__in=status["check_runs"])
    assert run.status == "passed" and run.data["signatures"] == {"verified": 1, "unverified": 3, "unsigned": 1}


def test_without_a_policy_nothing_is_called_verified(org, client, trusted, django_capture_on_commit_callbacks):
    status = send(client, org, [signed(trusted, statement())], django_capture_on_commit_callbacks)
    assert status["assets"][0]["signature"] == "unverified" and "0 verified" in status["detail"]


def test_a_policy_requiring_signatures_decides_nothing_from_an_unverified_attestation(
        org, client, policy, trusted, django_capture_on_commit_callbacks):
    policy(required=True)
    stranger = CryptoSigner.generate_ecdsa()
    status = send(client, org, [signed(stranger, statement())], django_capture_on_commit_callbacks)
    run = CheckRun.objects.get(pk__in=status["check_runs"])
    assert run.status == "error" and "not signed by a key of the project's signing policy" in run.summary
    gate = client.get(f"/api/v1/projects/{org.project.pk}/gate/?commit={SHA}").json()
    assert gate["verdict"] == "fail"
    status = send(client, org, [signed(trusted, statement())], django_capture_on_commit_callbacks)
    assert CheckRun.objects.get(pk__in=status["check_runs"]).status == "passed"


def test_an_unsigned_passing_attestation_closes_no_finding_a_signed_failing_one_opened(
        org, client, policy, trusted, django_capture_on_commit_callbacks):
    """Found by review: under a policy requiring signatures, one unsigned PASSED statement closed every open
    finding of the signed FAILED ones (the run was `error`, but the findings were closed all the same)."""
    from ingest.models import PipelineFinding

    policy(required=True)
    send(client, org, [signed(trusted, statement(result="FAILED"))], django_capture_on_commit_callbacks)
    assert PipelineFinding.objects.filter(status="open").count() == 1
    status = send(client, org, [json.loads(statement(result="PASSED"))], django_capture_on_commit_callbacks)
    assert status["findings_closed"] == 0 and PipelineFinding.objects.filter(status="open").count() == 1
    status = send(client, org, [signed(trusted, statement(result="PASSED"))], django_capture_on_commit_callbacks)
    assert status["findings_closed"] == 1  # a signed passing statement still closes it
