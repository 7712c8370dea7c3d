"""Rotating the evidence key loses nothing it sealed: after `rotate_evidence_key` and the removal of the
old key, a pushed pipeline report still reads back, a source's credential still opens and an identity
provider's client secret is still there (found by review: those three were left sealed with the old key)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from audit.models import AuditEvent
from evidence import storage
from identity.models import IdentityProvider
from ingest.models import ResultUpload
from sources import services as source_services
from sources.crypto import unseal
from sources.models import Source

from .test_gate import push, sarif

TOKEN = "ghp_rotation-test-credential-0123456789"  # pragma: allowlist secret
CLIENT_SECRET = "oidc-client-secret-for-rotation"  # pragma: allowlist secret


@pytest.fixture
def client(org, ingest_key, token_client):
    return token_client(ingest_key())


def test_key_rotation_re_seals_pipeline_reports_source_credentials_and_provider_secrets(
        org, client, settings, django_capture_on_commit_callbacks):
    push(client, org, sarif("9.8"), django_capture_on_commit_callbacks)
    upload = ResultUpload.objects.get()
    report = b"".join(storage.iter_decrypted(upload.storage_name))
    source = source_services.source_create(actor=org.lead, project=org.project, kind="git", name="repo",
                                           config={"url": "https://git.example.org/r.git"},
                                           credential={"token": TOKEN})
    provider = IdentityProvider(slug="corp", label="Sign in with Corp", issuer="https://id.example.org",
                                client_id="portal")
    provider.client_secret = CLIENT_SECRET
    provider.save()

    settings.MLSEC_EVIDENCE_KEYS = [Fernet.generate_key().decode(), settings.MLSEC_EVIDENCE_KEYS[0]]
    call_command("rotate_evidence_key")
    settings.MLSEC_EVIDENCE_KEYS = settings.MLSEC_EVIDENCE_KEYS[:1]  # the old key is gone

    assert b"".join(storage.iter_decrypted(upload.storage_name)) == report
    assert unseal(Source.objects.get(pk=source.pk).credential_encrypted) == {"token": TOKEN}
    assert IdentityProvider.objects.get(pk=provider.pk).client_secret == CLIENT_SECRET
    counts = AuditEvent.objects.filter(action="evidence.rotate_key").latest("seq").changes["after"]
    assert (counts["pipeline_results"], counts["source_credentials"], counts["identity_provider_secrets"]) == (1, 1, 1)
