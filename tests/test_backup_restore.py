"""A backup restored into an empty database passes verify_audit_log and re-verifies every evidence
hash; a tampered restored file is caught. Uses the operators' own scripts (docs/operations.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from assessments import services
from audit.models import AuditEvent
from conftest import database_url, require
from evidence.models import Evidence

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def empty_target(tmp_path):
    """An empty database to restore into (a new PostgreSQL database, or a new SQLite file)."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    require(shutil.which("createdb") and shutil.which("pg_restore"), "PostgreSQL client tools are not installed")
    db = connection.settings_dict
    name = f"mlsec_restore_{uuid.uuid4().hex[:8]}"
    base = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]
    subprocess.run(["createdb", *base, name], check=True)
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    yield f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    subprocess.run(["dropdb", *base, "--if-exists", name], check=False)


def run(script, *args, env):
    return subprocess.run([str(ROOT / "scripts" / script), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_restored_backup_verifies_and_tampering_is_caught(org, api, tmp_path, empty_target):
    require(shutil.which("tar") and shutil.which("sha256sum"), "tar and sha256sum are needed by the backup scripts")
    project = services.project_create(actor=org.lead, team=org.team, name="Chargebacks", slug="chargebacks")
    assessment = services.assessment_start(actor=org.member, project=project, cycle="2026-Q4")
    services.answer_update(actor=org.member, answer=assessment.answers.first(), level=3)
    for name, data in (("plan.txt", b"incident response plan v4\n"), ("pentest.pdf", b"%PDF-1.4\n%%EOF\n")):
        response = api(org.lead).post("/api/v1/evidence/", {
            "project": org.project.pk, "practice": "MLS-17", "kind": "file", "title": name,
            "file": SimpleUploadedFile(name, data)}, format="multipart")
        assert response.status_code == 201
    events, files = AuditEvent.objects.count(), Evidence.objects.count()

    env = {**os.environ, "DATABASE_URL": database_url(), "MLSEC_MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    backup = tmp_path / "backup"
    result = run("backup.sh", str(backup), env=env)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in backup.iterdir()} >= {"media.tar.gz", "SHA256SUMS"}

    restored_media = tmp_path / "restored-media"
    restore_env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_SETTINGS")}
    restore_env.update({
        "DJANGO_SETTINGS_MODULE": "mlsec_portal.settings.local", "MLSEC_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": empty_target, "MLSEC_MEDIA_ROOT": str(restored_media),
        "MLSEC_EVIDENCE_KEY": ",".join(settings.MLSEC_EVIDENCE_KEYS),
        "MLSEC_AUDIT_KEY": ",".join(settings.MLSEC_AUDIT_KEYS),
    })
    result = run("restore.sh", str(backup), env=restore_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"audit trail intact: {events} events" in result.stdout
    assert f"all {files} evidence files decrypt and match" in result.stdout

    stored = next(restored_media.rglob("*.bin"))
    stored.write_bytes(stored.read_bytes()[:-10] + b"0123456789")  # a flipped tail
    check = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "manage.py", "verify_evidence"], cwd=ROOT,
                           env=restore_env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 1 and "failed verification" in check.stderr


def test_restore_refuses_a_backup_that_does_not_match_its_checksums(org, tmp_path, empty_target):
    env = {**os.environ, "DATABASE_URL": database_url(), "MLSEC_MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    backup = tmp_path / "backup"
    assert run("backup.sh", str(backup), env=env).returncode == 0
    with open(backup / "media.tar.gz", "ab") as handle:
        handle.write(b"x")
    result = run("restore.sh", str(backup), env={**env, "DATABASE_URL": empty_target,
                                                  "MLSEC_MEDIA_ROOT": str(tmp_path / "m")})
    assert result.returncode == 1 and "do not match" in result.stderr
