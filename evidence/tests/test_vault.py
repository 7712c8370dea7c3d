"""The evidence vault: encrypted at rest, typed from its bytes, refused cleanly, served only in scope."""

import datetime as dt
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from evidence import storage
from evidence.models import Evidence
from evidence.services import send_expiry_reminders

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SECRET_TEXT = b"Penetration test 2026: the fraud scorer endpoint accepted unauthenticated requests until 12 Oct."


def upload(client, project, practice="MLS-08", name="report.pdf", data=PDF, **extra):
    payload = {"project": project.pk, "practice": practice, "kind": "file", "title": "Pen-test report",
               "file": SimpleUploadedFile(name, data), **extra}
    return client.post("/api/v1/evidence/", payload, format="multipart")


def media_files(settings) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_an_upload_is_hashed_typed_from_its_bytes_and_named_safely(org, api):
    response = upload(api(org.lead), org.project, name="../../etc/passwd.txt")
    assert response.status_code == 201, response.data
    data = response.data
    assert data["content_type"] == "application/pdf"  # the bytes say PDF, whatever the name says
    assert data["original_name"] == "passwd.txt.pdf" and data["size"] == len(PDF)  # the name follows the type
    import hashlib

    assert data["sha256"] == hashlib.sha256(PDF).hexdigest() and data["version"] == 1
    assert AuditEvent.objects.filter(action="evidence.add", object_id=str(data["id"])).exists()


def test_no_file_under_the_media_root_holds_evidence_plaintext(org, api, settings):
    assert upload(api(org.lead), org.project, name="findings.txt", data=SECRET_TEXT).status_code == 201
    assert upload(api(org.lead), org.project, name="report.pdf").status_code == 201
    files = media_files(settings)
    assert len(files) == 2
    for path in files:
        stored = path.read_bytes()
        assert SECRET_TEXT not in stored and b"%PDF" not in stored and b"Penetration" not in stored
        assert stored.startswith(b"gAAAAA")  # a Fernet token
        assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_download_returns_the_bytes_as_a_sandboxed_attachment(org, api, client):
    evidence_id = upload(api(org.lead), org.project, name="notes.txt", data=SECRET_TEXT).data["id"]
    response = api(org.auditor).get(f"/api/v1/evidence/{evidence_id}/download/")
    assert response.status_code == 200 and response.content == SECRET_TEXT
    assert response["Content-Disposition"].startswith('attachment; filename="notes.txt"')
    assert response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]
    client.force_login(org.member)
    page = client.get(f"/evidence/{evidence_id}/download/")
    assert page.status_code == 200 and b"".join(page) == SECRET_TEXT


def test_a_lead_of_another_team_gets_404_for_the_evidence_and_its_download(org, api, client):
    evidence_id = upload(api(org.lead), org.project).data["id"]
    other = api(org.other_lead)
    assert other.get(f"/api/v1/evidence/{evidence_id}/").status_code == 404
    assert other.get(f"/api/v1/evidence/{evidence_id}/download/").status_code == 404
    assert evidence_id not in [e["id"] for e in other.get("/api/v1/evidence/").data["results"]]
    client.force_login(org.other_lead)
    assert client.get(f"/evidence/{evidence_id}/").status_code == 404
    assert client.get(f"/evidence/{evidence_id}/download/").status_code == 404


@pytest.mark.parametrize("case", ["empty", "too large", "other team's project", "unknown practice", "html", "executable",
                                  "svg", "expired", "link without url"])
def test_a_refused_upload_leaves_no_file_and_no_row(org, api, settings, case):
    settings.MLSEC_MAX_UPLOAD_MB = 1
    client = api(org.lead)
    response = {
        "empty": lambda: upload(client, org.project, data=b""),
        "too large": lambda: upload(client, org.project, data=b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 1)),
        "other team's project": lambda: upload(client, org.other_project),
        "unknown practice": lambda: upload(client, org.project, practice="MLS-99"),
        "html": lambda: upload(client, org.project, name="report.pdf", data=b"<!DOCTYPE html><script>x()</script>"),
        "executable": lambda: upload(client, org.project, name="report.pdf", data=b"\x7fELF\x02\x01\x01" + b"\0" * 64),
        "svg": lambda: upload(client, org.project, name="chart.png", data=b"<svg onload='alert(1)'></svg>"),
        "expired": lambda: upload(client, org.project, valid_until=(timezone.localdate() - dt.timedelta(days=1)).isoformat()),
        "link without url": lambda: client.post("/api/v1/evidence/", {"project": org.project.pk, "practice": "MLS-08",
                                                                    "kind": "link", "title": "x"}, format="multipart"),
    }[case]()
    assert response.status_code == 400, (case, response.data)
    assert Evidence.objects.count() == 0
    assert media_files(settings) == []
    assert not AuditEvent.objects.filter(action="evidence.add").exists()


def test_a_member_cannot_upload_to_a_project_they_can_see_but_an_auditor_cannot_change(org, api):
    assert upload(api(org.auditor), org.project).status_code == 403
    assert upload(api(org.member), org.project).status_code == 201


def test_a_new_version_supersedes_the_old_one(org, api):
    client = api(org.lead)
    first = upload(client, org.project, name="v1.pdf").data["id"]
    second = upload(client, org.project, name="v2.pdf", data=PDF + b"%v2\n", supersedes=first)
    assert second.status_code == 201 and second.data["version"] == 2 and second.data["previous"] == first
    assert Evidence.objects.get(pk=first).superseded_at is not None
    again = upload(client, org.project, name="v3.pdf", supersedes=first)  # only the current version can be replaced
    assert again.status_code == 400
    current = client.get(f"/api/v1/evidence/?project={org.project.pk}&current=true").data
    assert [e["id"] for e in current["results"]] == [second.data["id"]]


def test_officers_accept_or_reject_with_a_note(org, api):
    evidence_id = upload(api(org.lead), org.project).data["id"]
    assert api(org.lead).post(f"/api/v1/evidence/{evidence_id}/review/", {"status": "accepted"}).status_code == 403
    officer = api(org.officer)
    assert officer.post(f"/api/v1/evidence/{evidence_id}/review/", {"status": "rejected"}).status_code == 400
    response = officer.post(f"/api/v1/evidence/{evidence_id}/review/", {"status": "accepted", "note": "Signed and dated."})
    assert response.status_code == 200 and response.data["status"] == "accepted"
    assert response.data["reviewed_by"] == "officer"


def test_a_tampered_file_is_refused_on_download(org, api, settings):
    evidence_id = upload(api(org.lead), org.project, name="notes.txt", data=SECRET_TEXT).data["id"]
    evidence = Evidence.objects.get(pk=evidence_id)
    path = Path(settings.MEDIA_ROOT) / evidence.storage_name
    path.write_bytes(storage.encrypt(b"forged content"))  # re-encrypted by someone with the key
    response = api(org.lead).get(f"/api/v1/evidence/{evidence_id}/download/")
    assert response.status_code == 400 and "SHA-256" in str(response.data)


def test_keys_rotate_without_losing_evidence(org, api, settings):
    evidence_id = upload(api(org.lead), org.project, name="notes.txt", data=SECRET_TEXT).data["id"]
    old_key = settings.MLSEC_EVIDENCE_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.MLSEC_EVIDENCE_KEYS = [new_key, old_key]
    call_command("rotate_evidence_key")
    settings.MLSEC_EVIDENCE_KEYS = [new_key]  # the old key is gone
    response = api(org.lead).get(f"/api/v1/evidence/{evidence_id}/download/")
    assert response.status_code == 200 and response.content == SECRET_TEXT


def test_leads_are_reminded_once_before_evidence_expires(org, api):
    soon = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    upload(api(org.lead), org.project, valid_until=soon)
    assert send_expiry_reminders(days=14) == 1
    assert mail.outbox[0].to == ["lead@example.org"] and "expire" in mail.outbox[0].subject
    assert send_expiry_reminders(days=14) == 0


def test_the_assessment_form_lets_a_lead_attach_evidence_to_a_practice(org, client):
    from assessments.tests.factories import make_assessment

    assessment = make_assessment(org.project)
    answer = assessment.answers.get(practice__code="MLS-17")
    client.force_login(org.lead)
    form = client.get(f"/assessments/{assessment.pk}/").content.decode()
    assert f"/projects/{org.project.pk}/evidence/new/?practice=MLS-17&amp;answer={answer.pk}" in form
    response = client.post(f"/projects/{org.project.pk}/evidence/new/?practice=MLS-17&answer={answer.pk}", {
        "kind": "file", "title": "Incident response plan v3", "practice": "MLS-17", "answer": answer.pk,
        "file": SimpleUploadedFile("ir-plan.pdf", PDF), "valid_until": "",
    })
    assert response.status_code == 302 and response["Location"].endswith("#practice-MLS-17")
    evidence = Evidence.objects.get(answer=answer)
    assert evidence.content_type == "application/pdf"
    assert "Incident response plan v3" in client.get(f"/assessments/{assessment.pk}/").content.decode()
