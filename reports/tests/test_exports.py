"""Exports from the database: requested through the API, built by the task, parsed back and verified."""

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessments.choices import AssessmentStatus
from assessments.tests.factories import ProjectFactory, make_assessment
from conftest import require
from evidence.models import Evidence
from reports.bundle import verify_bundle
from reports.dataset import Scope, build_dataset
from reports.models import Report

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"Tabletop exercise 2026-10: model theft playbook rehearsed; two gaps found.\n"


@pytest.fixture
def filled(org, api):
    from assessments.models import Project

    Project.objects.update(created_at=timezone.now() - dt.timedelta(days=30))  # registered a month ago
    make_assessment(org.project, levels=3, na=("MLS-14",), status=AssessmentStatus.APPROVED,
                    reviewed_at=timezone.now() - dt.timedelta(days=10))
    make_assessment(org.other_project, levels=1, status=AssessmentStatus.APPROVED)
    response = api(org.lead).post("/api/v1/evidence/", {
        "project": org.project.pk, "practice": "MLS-17", "kind": "file", "title": "Tabletop report",
        "file": SimpleUploadedFile("tabletop.txt", SECRET)}, format="multipart")
    assert response.status_code == 201
    return org


def export(api, user, django_capture_on_commit_callbacks, **body) -> Report:
    with django_capture_on_commit_callbacks(execute=True):
        response = api(user).post("/api/v1/reports/", body, format="json")
    assert response.status_code == 202, response.data
    report = Report.objects.get(pk=response.data["id"])
    assert report.status == "ready", report.error
    return report


def download(api, user, report) -> bytes:
    response = api(user).get(f"/api/v1/reports/{report.pk}/download/")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def pdf_text(data: bytes, tmp_path) -> str:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_pdf_holds_the_project_names_and_practice_codes(filled, api, django_capture_on_commit_callbacks, tmp_path):
    report = export(api, filled.auditor, django_capture_on_commit_callbacks, scope="org", format="pdf")
    text = pdf_text(download(api, filled.auditor, report), tmp_path)
    assert "Card fraud scorer" in text and "Home feed ranker" in text
    assert all(f"MLS-{n:02d}" in text for n in range(1, 26))
    assert Evidence.objects.get().sha256 in text.replace("\n", "").replace(" ", "")


def test_the_csv_has_25_rows_per_project(filled, api, django_capture_on_commit_callbacks):
    report = export(api, filled.officer, django_capture_on_commit_callbacks, scope="org", format="csv")
    rows = list(csv.DictReader(io.StringIO(download(api, filled.officer, report).decode("utf-8"))))
    assert len(rows) == 25 * 2
    card = [r for r in rows if r["project"] == "Card fraud scorer"]
    assert [r["code"] for r in card] == [f"MLS-{n:02d}" for n in range(1, 26)]
    by_code = {r["code"]: r for r in card}
    assert by_code["MLS-01"]["level"] == "3" and by_code["MLS-01"]["score"] == "75.0"
    assert by_code["MLS-14"]["status"] == "not applicable" and by_code["MLS-17"]["evidence_count"] == "1"


def test_the_json_and_the_oscal_document_parse_and_validate(filled, api, django_capture_on_commit_callbacks):
    from trestle.oscal.assessment_results import Model

    report = export(api, filled.auditor, django_capture_on_commit_callbacks, scope="team", team="fraud", format="json")
    document = json.loads(download(api, filled.auditor, report))
    assert [p["name"] for p in document["projects"]] == ["Card fraud scorer"]
    assert document["scope"]["kind"] == "team" and len(document["practices"]) == 25
    report = export(api, filled.auditor, django_capture_on_commit_callbacks, scope="org", format="oscal")
    oscal = json.loads(download(api, filled.auditor, report))
    Model.model_validate(oscal)  # raises on anything OSCAL does not allow
    assert oscal["assessment-results"]["metadata"]["oscal-version"].startswith("1.1")


def test_the_bundle_verifies_and_a_copy_with_one_byte_changed_does_not(filled, api, django_capture_on_commit_callbacks,
                                                                       tmp_path):
    report = export(api, filled.auditor, django_capture_on_commit_callbacks, scope="team", team="fraud", format="zip")
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(download(api, filled.auditor, report))
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        listed = {f["path"] for f in manifest["files"]}
        evidence = [n for n in names if n.startswith("evidence/")]
        assert archive.read(evidence[0]) == SECRET  # the evidence file, decrypted
    assert listed == names - {"manifest.json", "manifest.sig"}
    assert {"report.pdf", "report.csv", "report.json", "oscal-assessment-results.json", "public-key.pem"} <= listed
    assert verify_bundle(str(bundle)).ok
    call_command("verify_bundle", str(bundle))  # exits 0

    data = bytearray(bundle.read_bytes())
    offset = data.index(b"report.csv")  # a byte inside the archive (a file name in a header)
    data[offset] ^= 0x01
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(bytes(data))
    assert not verify_bundle(str(tampered)).ok
    with pytest.raises(CommandError, match="NOT verified"):
        call_command("verify_bundle", str(tampered))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mlsec_portal.settings.test"}
    manage = [sys.executable, str(ROOT / "manage.py"), "verify_bundle"]
    assert subprocess.run([*manage, str(bundle)], capture_output=True, env=env, cwd=ROOT).returncode == 0
    assert subprocess.run([*manage, str(tampered)], capture_output=True, env=env, cwd=ROOT).returncode == 1


def test_an_export_as_of_a_past_day_ignores_later_changes(filled, api, django_capture_on_commit_callbacks):
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    report = export(api, filled.auditor, django_capture_on_commit_callbacks, scope="project",
                    project=filled.other_project.pk, format="json")
    today = json.loads(download(api, filled.auditor, report))["projects"][0]
    assert today["assessment"] is not None  # approved today
    report = export(api, filled.auditor, django_capture_on_commit_callbacks, scope="org", format="json", as_of=yesterday)
    past = {p["name"]: p for p in json.loads(download(api, filled.auditor, report))["projects"]}
    assert past["Home feed ranker"]["assessment"] is None  # approved after that day
    assert past["Card fraud scorer"]["assessment"]["status"] == "approved"  # approved ten days ago
    assert past["Card fraud scorer"]["evidence"] == []  # uploaded today
    assert all(a["level"] is None for a in past["Home feed ranker"]["answers"])


def test_scope_rules_for_exports(filled, api):
    assert api(filled.lead).post("/api/v1/reports/", {"scope": "org", "format": "csv"}, format="json").status_code == 403
    response = api(filled.other_lead).post("/api/v1/reports/", {"scope": "team", "team": "fraud", "format": "csv"},
                                           format="json")
    assert response.status_code == 400  # the team does not exist for them
    assert api(filled.auditor).post("/api/v1/reports/", {"scope": "team", "format": "csv"}, format="json").status_code == 400
    assert api(filled.auditor).post("/api/v1/reports/", {"scope": "org", "format": "docx"}, format="json").status_code == 400
    assert Report.objects.count() == 0


def test_another_teams_lead_gets_404_for_a_report_and_its_download(filled, api, django_capture_on_commit_callbacks, client):
    report = export(api, filled.lead, django_capture_on_commit_callbacks, scope="team", team="fraud", format="csv")
    other = api(filled.other_lead)
    assert other.get(f"/api/v1/reports/{report.pk}/").status_code == 404
    assert other.get(f"/api/v1/reports/{report.pk}/download/").status_code == 404
    client.force_login(filled.other_lead)
    assert client.get(f"/reports/{report.pk}/download/").status_code == 404
    assert api(filled.auditor).get(f"/api/v1/reports/{report.pk}/download/").status_code == 200


def test_a_member_of_the_same_team_does_not_see_the_export_its_lead_asked_for(filled, api,
                                                                            django_capture_on_commit_callbacks):
    report = export(api, filled.lead, django_capture_on_commit_callbacks, scope="team", team="fraud", format="csv")
    member = api(filled.member)
    assert member.get(f"/api/v1/reports/{report.pk}/").status_code == 404
    assert member.get(f"/api/v1/reports/{report.pk}/download/").status_code == 404
    assert str(report.pk) not in member.get("/api/v1/reports/").content.decode()
    assert api(filled.officer).get(f"/api/v1/reports/{report.pk}/").status_code == 200


def test_the_export_command_writes_the_requested_format(filled, tmp_path):
    target = tmp_path / "org.zip"
    call_command("export_report", "--scope", "org", "--format", "zip", "--output", str(target))
    assert verify_bundle(str(target)).ok


def test_the_dataset_costs_the_same_queries_for_1_and_20_projects(org):
    def count() -> int:
        scope = Scope("team", team=org.team, teams=[org.team])
        with CaptureQueriesContext(connection) as ctx:
            dataset = build_dataset(scope=scope, as_of=None, generated_by="test")
            projects = list(dataset["projects"])
        return len(ctx.captured_queries), len(projects)

    make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    few, n = count()
    assert n == 1
    for _ in range(19):
        project = ProjectFactory(team=org.team)
        make_assessment(project, levels=3, status=AssessmentStatus.APPROVED)
    many, n = count()
    assert n == 20 and many == few


def test_the_csv_says_submitted_for_a_project_whose_assessment_awaits_review(org, api,
                                                                             django_capture_on_commit_callbacks):
    from assessments.models import Project

    Project.objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    submitted = make_assessment(org.project, cycle="2026-Q4", levels=3, status=AssessmentStatus.SUBMITTED)
    submitted.submitted_at = timezone.now() - dt.timedelta(days=2)
    submitted.save(update_fields=["submitted_at"])
    report = export(api, org.auditor, django_capture_on_commit_callbacks, scope="org", format="csv")
    rows = list(csv.DictReader(io.StringIO(download(api, org.auditor, report).decode("utf-8"))))
    awaiting = [r for r in rows if r["project"] == "Card fraud scorer"]
    assert len(awaiting) == 25
    assert {(r["assessment_status"], r["status"], r["cycle"]) for r in awaiting} == {("submitted", "submitted", "2026-Q4")}
    assert all(r["level"] == "" and r["score"] == "" for r in awaiting)  # nothing counts before the review
    untouched = [r for r in rows if r["project"] == "Home feed ranker"]
    assert {(r["assessment_status"], r["status"]) for r in untouched} == {("not assessed", "not assessed")}
    before = (timezone.localdate() - dt.timedelta(days=5)).isoformat()  # before it was submitted
    report = export(api, org.auditor, django_capture_on_commit_callbacks, scope="org", format="csv", as_of=before)
    rows = list(csv.DictReader(io.StringIO(download(api, org.auditor, report).decode("utf-8"))))
    assert {r["assessment_status"] for r in rows if r["project"] == "Card fraud scorer"} == {"not assessed"}


def test_the_pdf_lists_check_results_filed_by_a_real_check_as_check_results(org, api, django_capture_on_commit_callbacks,
                                                                            tmp_path):
    from checks.models import CheckRun
    from checks.runners.base import CheckResult, Finding
    from checks.services import finish_run
    from reports.tests.test_renderers import pdf_text

    make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    run = CheckRun.objects.create(project=org.project, definition_id="source-secrets", status="running",
                                  started_at=timezone.now())
    finish_run(run, CheckResult(status="failed", summary="1 secret found",
                                findings=[Finding(severity="high", title="AWS key in src/a.py line 3", ref="src/a.py:3")]))
    check_evidence = Evidence.objects.filter(kind="check", project=org.project)
    assert check_evidence and all(e.status == "accepted" for e in check_evidence)  # how checks file them
    report = export(api, org.auditor, django_capture_on_commit_callbacks, scope="project", project=org.project.pk,
                    format="pdf")
    path = tmp_path / "r.pdf"
    path.write_bytes(download(api, org.auditor, report))
    text = pdf_text(path)
    assert "Automated check results" in text and "check · accepted" not in text
    results = text.split("Automated check results", 1)[1].split("Latest check runs")[0]
    assert f"run #{run.pk}" in results and "failed" in results


def test_links_in_exports_and_reminder_emails_use_the_portals_base_url(org, api, settings,
                                                                       django_capture_on_commit_callbacks, tmp_path):
    from django.core import mail

    from evidence.services import send_expiry_reminders
    from reports.tests.test_renderers import pdf_text

    settings.MLSEC_BASE_URL = "https://mlsec.example.org:8443/"
    response = api(org.lead).post("/api/v1/evidence/", {
        "project": org.project.pk, "practice": "MLS-17", "kind": "file", "title": "Tabletop report",
        "file": SimpleUploadedFile("tabletop.txt", SECRET),
        "valid_until": (timezone.localdate() + dt.timedelta(days=3)).isoformat()}, format="multipart")
    assert send_expiry_reminders(days=14) == 1
    assert f"https://mlsec.example.org:8443/evidence/{response.data['id']}/" in mail.outbox[0].body
    report = export(api, org.auditor, django_capture_on_commit_callbacks, scope="project", project=org.project.pk,
                    format="json")
    document = json.loads(download(api, org.auditor, report))
    assert document["portal"]["base_url"] == "https://mlsec.example.org:8443/"
    assert document["projects"][0]["url"] == f"https://mlsec.example.org:8443/projects/{org.project.pk}/"
    report = export(api, org.auditor, django_capture_on_commit_callbacks, scope="project", project=org.project.pk,
                    format="pdf")
    (tmp_path / "r.pdf").write_bytes(download(api, org.auditor, report))
    assert f"https://mlsec.example.org:8443/projects/{org.project.pk}/" in pdf_text(tmp_path / "r.pdf")
