"""The ZIP bundle streams evidence files into the archive as they are decrypted (issue 19): a large
evidence file never sits whole in the worker's memory, the bundle still verifies with
scripts/verify_bundle.py, and a file that no longer authenticates fails the export."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from controls.models import Practice
from evidence import storage
from evidence.models import Evidence, EvidenceKind, EvidenceStatus
from reports import services
from reports.models import Report

ROOT = Path(__file__).resolve().parents[2]
SIZE = 24 * 1024 * 1024


def large_evidence(org) -> tuple[Evidence, str]:
    block = os.urandom(1 << 20)
    data = b"PK\x03\x04" + (block * (SIZE // len(block) + 1))[: SIZE - 4]
    digest = hashlib.sha256(data).hexdigest()
    item = Evidence.objects.create(
        project=org.project, practice=Practice.objects.get(code="MLS-08"), kind=EvidenceKind.FILE,
        title="Model card archive", storage_name=storage.write(data), original_name="model-card.zip",
        sha256=digest, size=len(data), content_type="application/zip", status=EvidenceStatus.ACCEPTED,
        uploaded_by=org.lead)
    return item, digest


def build_zip(org, django_capture_on_commit_callbacks) -> tuple[Report, int]:
    with django_capture_on_commit_callbacks(execute=False):
        report = services.report_request(actor=org.officer, scope="org", format="zip")
    tracemalloc.start()
    try:
        services.report_build(report.pk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Report.objects.get(pk=report.pk), peak


@pytest.mark.django_db(transaction=True)
def test_a_large_evidence_file_streams_into_a_bundle_that_verifies(org, django_capture_on_commit_callbacks, tmp_path):
    item, digest = large_evidence(org)
    report, peak = build_zip(org, django_capture_on_commit_callbacks)
    assert report.status == "ready", report.error
    assert peak < SIZE // 4, peak  # the 24 MiB file (and its 32 MiB token) never held whole
    path = tmp_path / report.filename
    with open(path, "wb") as out:
        for chunk in services.report_verified_chunks(report):
            out.write(chunk)
    with zipfile.ZipFile(path) as zf:
        member = next(n for n in zf.namelist() if n.startswith(f"evidence/{item.pk}-"))
        assert hashlib.sha256(zf.read(member)).hexdigest() == digest
    fingerprint = services.signing_public_key()[1]
    result = subprocess.run([sys.executable, "-I", str(ROOT / "scripts" / "verify_bundle.py"), str(path),
                             "--fingerprint", fingerprint], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db(transaction=True)
def test_an_evidence_file_altered_in_the_store_fails_the_streamed_export(org, django_capture_on_commit_callbacks,
                                                                          settings):
    item, _ = large_evidence(org)
    stored = storage.root() / item.storage_name
    token = bytearray(stored.read_bytes())
    token[len(token) // 2] ^= 0x01  # one bit of the ciphertext's base64, deep inside the file
    stored.write_bytes(bytes(token))
    report, _ = build_zip(org, django_capture_on_commit_callbacks)
    assert report.status == "failed" and not report.storage_name
    assert f"Evidence #{item.pk}" in report.error and "cannot be decrypted" in report.error, report.error
    assert not list(Path(settings.MEDIA_ROOT, "reports").rglob("*.bin"))  # the partial bundle was discarded
