"""The Statement of Applicability: its rules, then the CSV and PDF exports parsed back, and the signed bundle."""

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessments.choices import AcceptanceStatus, AssessmentStatus
from assessments.models import Answer, Project, RiskAcceptance
from assessments.tests.factories import ProjectFactory, make_assessment
from controls.models import Practice
from evidence.models import Evidence
from frameworks.scope import ReadinessScope
from frameworks.soa import statement_of_applicability
from reports.bundle import verify_bundle
from reports.renderers.soa_csv import SOA_HEADER
from reports.tests.test_exports import download, export
from reports.tests.test_renderers import pdf_text

SECRET = b"Data inventory 2026: every training table, its owner and its retention.\n"


@pytest.fixture
def assessed(org, api):
    """The fraud project approved ten days ago: level 3 everywhere, MLS-06/14/21 (all of A.7.2) N/A."""
    Project.objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    make_assessment(org.project, levels=3, na=("MLS-06", "MLS-14", "MLS-21"), status=AssessmentStatus.APPROVED,
                    reviewed_at=timezone.now() - dt.timedelta(days=10))
    Answer.objects.filter(practice__code="MLS-14").update(justification="All data sits in one governed warehouse.")
    Answer.objects.filter(practice__code="MLS-06").update(justification="No personal data <b>&</b> no features.")
    Answer.objects.filter(practice__code="MLS-01").update(owner="Ana Ribeiro")
    Answer.objects.filter(practice__code="MLS-02").update(owner="=HYPERLINK(\"http://x\")")
    response = api(org.lead).post("/api/v1/evidence/", {
        "project": org.project.pk, "practice": "MLS-23", "kind": "file", "title": "Model registry export",
        "file": SimpleUploadedFile("registry.txt", SECRET)}, format="multipart")
    assert response.status_code == 201, response.content
    return org


def soa(org, kind="team", **kwargs) -> dict:
    scope = ReadinessScope(kind, teams=[org.team], project=org.project if kind == "project" else None)
    return statement_of_applicability(scope, **kwargs)


def controls(document) -> dict:
    return {c["ref"]: c for c in document["controls"]}


def test_the_soa_lists_every_annex_a_control_once(assessed):
    document = soa(assessed)
    assert [c["ref"] for c in document["controls"]][:3] == ["A.2.2", "A.2.3", "A.2.4"]
    assert len(document["controls"]) == 38 and document["controls"][-1]["ref"] == "A.10.4"
    assert all(c["ref"].startswith("A.") for c in document["controls"])


def test_a_control_whose_every_answer_is_not_applicable_is_not_applicable_with_their_reasons(assessed):
    control = controls(soa(assessed))["A.7.2"]  # MLS-06, MLS-14, MLS-21
    assert control["applicable"] is False and control["status"] == "not-applicable"
    assert "Card fraud scorer, MLS-14: All data sits in one governed warehouse." in control["justification"]
    assert control["justification"].count("Card fraud scorer") == 3


def test_a_partly_not_applicable_control_applies_and_says_where_it_does_not(assessed):
    control = controls(soa(assessed))["A.4.3"]  # MLS-01, MLS-02 (level 3) and MLS-21 (N/A)
    assert control["applicable"] is True and control["status"] == "implemented" and control["readiness"] == 75.0
    assert "Not applicable in part: Card fraud scorer, MLS-21" in control["justification"]


def test_a_team_without_projects_still_gets_every_control(org):
    document = statement_of_applicability(ReadinessScope("team", teams=[org.team]), as_of=None)
    Project.objects.filter(team=org.team).delete()
    empty = statement_of_applicability(ReadinessScope("team", teams=[org.team]))
    assert len(empty["controls"]) == len(document["controls"]) == 38 and empty["projects"] == 0
    assert {c["status"] for c in empty["controls"]} == {"not-assessed", "not-covered"}


def test_controls_no_practice_covers_are_applicable_and_marked_not_covered(assessed):
    control = controls(soa(assessed))["A.2.2"]
    assert control["applicable"] is True and control["status"] == "not-covered" and control["practices"] == []


@pytest.mark.parametrize("level, status", [(4, "implemented"), (3, "implemented"), (2, "partially-implemented"),
                                           (1, "partially-implemented"), (0, "not-implemented")])
def test_the_implementation_status_follows_readiness(org, level, status):
    make_assessment(org.project, levels=level, status=AssessmentStatus.APPROVED)
    assert controls(soa(org))["A.6.2.6"]["status"] == status


def test_without_an_approved_assessment_every_covered_control_is_not_assessed_and_applies(org):
    make_assessment(org.project, levels=3)  # a draft counts for nothing
    rows = controls(soa(org))
    assert {c["status"] for c in rows.values()} == {"not-assessed", "not-covered"}
    assert all(c["applicable"] for c in rows.values())


def test_owners_evidence_with_hashes_and_accepted_risks_are_listed(assessed):
    RiskAcceptance.objects.create(project=assessed.project, practice=Practice.objects.get(code="MLS-23"),
                                  justification="Registry migration in January.", proposed_by=assessed.lead,
                                  status=AcceptanceStatus.APPROVED, approved_by=assessed.officer,
                                  decided_by=assessed.officer, decided_at=timezone.now(),
                                  expires_on=timezone.localdate() + dt.timedelta(days=60))
    rows = controls(soa(assessed))
    assert "Ana Ribeiro (MLS-01)" in rows["A.4.3"]["owners"]
    evidence = rows["A.4.2"]["evidence"]  # A.4.2 Resource documentation ← MLS-23
    assert [(e["title"], e["sha256"]) for e in evidence] == [("Model registry export", hashlib.sha256(SECRET).hexdigest())]
    assert evidence[0]["file"].startswith("evidence/") and evidence[0]["url"].endswith(f"/evidence/{evidence[0]['id']}/")
    assert rows["A.4.2"]["accepted_risks"][0]["justification"] == "Registry migration in January."


def test_a_past_day_sees_neither_later_evidence_nor_later_assessments(assessed):
    past = soa(assessed, as_of=timezone.localdate() - dt.timedelta(days=20))
    assert all(c["status"] in ("not-assessed", "not-covered") for c in past["controls"])
    assert all(not c["evidence"] for c in past["controls"])
    assert soa(assessed)["as_of"] == timezone.localdate().isoformat()


def test_rejected_evidence_is_left_out(assessed, api):
    item = Evidence.objects.get(title="Model registry export")
    assert api(assessed.officer).post(f"/api/v1/evidence/{item.pk}/review/", {"status": "rejected", "note": "stale"},
                                      format="json").status_code == 200
    assert controls(soa(assessed))["A.4.2"]["evidence"] == []


def test_the_soa_costs_the_same_queries_for_one_and_many_projects(assessed):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            soa(assessed)
        return len(ctx.captured_queries)

    few = count()
    for n in range(8):
        project = ProjectFactory(team=assessed.team)
        make_assessment(project, levels=n % 5, status=AssessmentStatus.APPROVED)
        Evidence.objects.create(project=project, practice=Practice.objects.get(code="MLS-01"), kind="link",
                                title=f"Link {n}", url=f"https://wiki.example/{n}")
    assert count() == few


# --- exports ---------------------------------------------------------------------------------------

def test_the_soa_csv_export_parses_back_one_row_per_control(assessed, api, django_capture_on_commit_callbacks):
    report = export(api, assessed.lead, django_capture_on_commit_callbacks, scope="team", team="fraud",
                    format="soa-csv")
    assert report.filename.endswith(".soa.csv") and report.content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download(api, assessed.lead, report).decode("utf-8"), newline="")))
    assert list(rows[0]) == SOA_HEADER and len(rows) == 38
    by_ref = {r["control"]: r for r in rows}
    assert by_ref["A.7.2"]["applicable"] == "no" and "governed warehouse" in by_ref["A.7.2"]["justification"]
    assert by_ref["A.4.2"]["evidence_sha256"].endswith(hashlib.sha256(SECRET).hexdigest())
    assert "'=HYPERLINK" in by_ref["A.4.3"]["owners"]  # a formula never reaches a spreadsheet as one


def test_the_soa_pdf_export_shows_each_control_and_the_evidence_hash(assessed, api, django_capture_on_commit_callbacks,
                                                                     tmp_path):
    report = export(api, assessed.officer, django_capture_on_commit_callbacks, scope="project",
                    project=assessed.project.pk, format="soa-pdf")
    path = tmp_path / "soa.pdf"
    path.write_bytes(download(api, assessed.officer, report))
    text = pdf_text(path)
    assert "Statement of Applicability, ISO/IEC 42001:2023 Annex A" in text
    assert "A.7.2" in text and "A.10.4" in text and "governed warehouse" in text
    assert "No personal data <b>&</b> no features." in text  # user text is escaped, never markup
    assert hashlib.sha256(SECRET).hexdigest() in text.replace(" ", "")


def test_a_lead_cannot_export_another_teams_soa(assessed, api):
    response = api(assessed.lead).post("/api/v1/reports/", {"scope": "team", "team": "recs", "format": "soa-csv"},
                                       format="json")
    assert response.status_code == 400


def test_the_signed_bundle_carries_the_soa_and_the_poam_in_its_manifest(assessed, api, django_capture_on_commit_callbacks,
                                                                        tmp_path):
    report = export(api, assessed.officer, django_capture_on_commit_callbacks, scope="team", team="fraud", format="zip")
    path = tmp_path / "bundle.zip"
    path.write_bytes(download(api, assessed.officer, report))
    assert verify_bundle(path).ok
    with zipfile.ZipFile(path) as zf:
        manifest = {f["path"]: f for f in json.loads(zf.read("manifest.json"))["files"]}
        for name in ("statement-of-applicability.csv", "statement-of-applicability.pdf", "oscal-poam.json"):
            assert manifest[name]["sha256"] == hashlib.sha256(zf.read(name)).hexdigest()
        rows = {r["control"]: r for r in csv.DictReader(io.StringIO(zf.read("statement-of-applicability.csv").decode(),
                                                                    newline=""))}
        bundled = next(line for line in rows["A.4.2"]["evidence"].splitlines() if "Model registry export" in line)
        member = bundled.rsplit(" ", 1)[1]  # the SoA points at the evidence file inside the bundle
        assert hashlib.sha256(zf.read(member)).hexdigest() == hashlib.sha256(SECRET).hexdigest()


def test_the_soa_pdf_renders_a_control_with_hundreds_of_evidence_items_and_long_reasons():
    """The demo's organisation bundle failed with a LayoutError: one control's row was taller than a page."""
    import io

    from pypdf import PdfReader

    from reports.renderers.soa_pdf import EVIDENCE_SHOWN, render_soa_pdf

    evidence = [{"title": f"Evidence {i}", "project": "Fraud", "practice": "MLS-03", "status": "accepted",
                 "file": f"evidence/{i}.pdf", "sha256": "ab" * 32} for i in range(300)]
    control = {"objective_ref": "A.4", "objective": "Resources", "ref": "A.4.3", "title": "Tooling",
               "applicable": True, "justification": "x " * 1500, "status": "implemented", "readiness": 80.0,
               "practices": ["MLS-03"], "owners": [f"owner {i}" for i in range(60)], "evidence": evidence,
               "accepted_risks": []}
    dataset = {"statement_of_applicability": {"title": "SoA", "scope": {"kind": "org", "label": "Org"},
                                              "controls": [control, {**control, "ref": "A.4.4"}], "summary": {}}}
    out = io.BytesIO()
    render_soa_pdf(dataset, out)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(out.getvalue())).pages)
    assert f"and {300 - EVIDENCE_SHOWN} more" in text
