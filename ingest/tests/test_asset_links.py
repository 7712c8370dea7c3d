"""Models and subjects a report names are linked to the project's asset versions by SHA-256, never by name."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from sources.models import Asset, AssetVersion, Source

from .conftest import upload

pytestmark = pytest.mark.django_db
WEIGHTS = hashlib.sha256(b"the scorer's weights").hexdigest()
OTHER = hashlib.sha256(b"someone else's weights").hexdigest()


@pytest.fixture
def client(org, ingest_key, token_client):
    return token_client(ingest_key())


@pytest.fixture
def version(org):
    source = Source.objects.create(project=org.project, kind="mlflow", name="registry")
    asset = Asset.objects.create(project=org.project, source=source, kind="model", name="fraud-scorer")
    return AssetVersion.objects.create(asset=asset, version="7", sha256=WEIGHTS, revision={"model": "fraud-scorer"})


def send(client, org, body, fmt, capture):
    with capture(execute=True):
        response = upload(client, org.project, json.dumps(body).encode(), fmt)
    assert response.status_code == 202, response.content
    return client.get(response.json()["status_url"]).json()


def test_an_sbom_model_with_a_known_sha256_is_linked_and_others_are_not(org, client, version,
                                                                        django_capture_on_commit_callbacks):
    # The same digest in another project's inventory is no link of this one.
    theirs = Asset.objects.create(project=org.other_project, kind="model", name="ranker")
    AssetVersion.objects.create(asset=theirs, version="1", sha256=OTHER)
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
        {"type": "machine-learning-model", "name": "scorer", "version": "7",
         "hashes": [{"alg": "SHA-256", "content": WEIGHTS.upper()}]},
        {"type": "machine-learning-model", "name": "ranker", "hashes": [{"alg": "SHA-256", "content": OTHER}]},
        {"type": "data", "name": "transactions", "hashes": [{"alg": "MD5", "content": "0" * 32}]},
        {"type": "machine-learning-model", "name": "fraud-scorer"}]}  # the same name, no digest: no link
    status = send(client, org, bom, "cyclonedx", django_capture_on_commit_callbacks)
    links = {a["name"]: a["links"] for a in status["assets"]}
    assert links["scorer"] == [{"asset": version.asset_id, "asset_version": version.pk, "name": "fraud-scorer",
                                "kind": "model", "version": "7"}]
    assert links["ranker"] == [] and links["transactions"] == [] and links["fraud-scorer"] == []


def test_an_in_toto_subject_is_linked_by_its_sha256(org, client, version, django_capture_on_commit_callbacks):
    statement = {"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://in-toto.io/attestation/test-result/v0.1",
                 "subject": [{"name": "model.safetensors", "digest": {"sha256": WEIGHTS}},
                             {"name": "other.bin", "digest": {"sha256": OTHER}}],
                 "predicate": {"result": "PASSED", "configuration": [], "passedTests": ["eval"]}}
    envelope = {"payloadType": "application/vnd.in-toto+json", "signatures": [],
                "payload": base64.b64encode(json.dumps(statement).encode()).decode()}
    status = send(client, org, envelope, "in-toto", django_capture_on_commit_callbacks)
    links = {a["name"]: a["links"] for a in status["assets"]}
    assert [link["asset_version"] for link in links["model.safetensors"]] == [version.pk]
    assert links["other.bin"] == []
