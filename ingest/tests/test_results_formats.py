"""Each format round-trips: the real tool's output, pushed with an ingest token, becomes check runs and
findings shown on the project page, with the practices capped as the built-in checks cap them.

Made here by the real tools: bandit's SARIF, cyclonedx-py's SBOM (and cyclonedx-python-lib's for ML
components), modelscan's and fickling's JSON and picklescan's output on pickles made in the test.
garak's reports are files garak 0.17.1 wrote against its own test generators (fixtures/garak, with how
to regenerate them: garak is too large an install to run in every test run); a hand-written garak
report covers older field names. OCSF and in-toto have no generator installed here: those reports are
written in the tests to OCSF 1.x (class 2003) and the in-toto attestation spec (Test Result v0.1).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from assessments.choices import AssessmentStatus
from assessments.tests.factories import make_assessment
from checks.models import CheckRun
from ingest.models import PipelineFinding, ResultUpload
from scoring.services import scorecard_for

from .conftest import VULNERABLE_APP, bandit_sarif, run_tool, tool, upload

pytestmark = pytest.mark.django_db
COMMIT = "0123456789abcdef0123456789abcdef01234567"  # pragma: allowlist secret


def practice(team, code):
    return next(p for p in scorecard_for([team]).teams[0].practices if p.practice.code == code)


@pytest.fixture
def push(org, ingest_key, token_client, django_capture_on_commit_callbacks):
    client = token_client(ingest_key())

    def send(report, fmt, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(client, org.project, report, fmt, commit=COMMIT, branch="main", **fields)
        assert response.status_code == 202, response.json()
        status = client.get(response.json()["status_url"]).json()
        assert status["status"] == "done", status
        return status

    return send


def page(api, org):
    return api(org.member).get(f"/projects/{org.project.pk}/")


def test_bandit_sarif_becomes_a_failed_static_analysis_run_capping_secure_coding(org, push, tmp_path, client):
    make_assessment(org.project, levels=4, status=AssessmentStatus.APPROVED)
    status = push(bandit_sarif(tmp_path, VULNERABLE_APP), "sarif", build_id="gh-17")
    (run,) = CheckRun.objects.filter(pk__in=status["check_runs"])
    assert run.definition_id == "source-static-analysis" and run.status == "failed" and run.trigger == "pipeline"
    assert run.data["tool"] == "bandit" and run.data["commit"] == COMMIT and run.data["build_id"] == "gh-17"
    assert {f.rule_id for f in PipelineFinding.objects.all()} >= {"B602", "B301"}
    assert PipelineFinding.objects.get(rule_id="B602").severity == "high"
    assert practice(org.team, "MLS-13").capped == 1
    client.force_login(org.member)
    body = client.get(f"/projects/{org.project.pk}/").content.decode()
    assert "B602: subprocess call with shell=True" in body and "pushed by CI" in body and "Results from pipelines" in body


def test_a_sarif_secret_never_reaches_the_findings(org, push, tmp_path):
    secret = "Zx9" + "q" * 30  # pragma: allowlist secret
    push(bandit_sarif(tmp_path, f'PASSWORD = "{secret}"\n'), "sarif")
    stored = json.dumps(list(PipelineFinding.objects.values()), default=str) + json.dumps(
        list(CheckRun.objects.values("findings", "summary")))
    assert PipelineFinding.objects.filter(rule_id="B105").exists() and secret not in stored


def test_cyclonedx_py_sbom_is_matched_against_imported_osv_advisories(org, push, tmp_path):
    osv = tmp_path / "osv"
    osv.mkdir()
    (osv / "GHSA-fx5c-h9f6-rv7c.json").write_text(json.dumps({
        "id": "GHSA-fx5c-h9f6-rv7c", "aliases": ["CVE-2021-34141"], "modified": "2024-01-01T00:00:00Z",
        "summary": "Incorrect comparison in numpy.core",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "NumPy"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.22.0"}]}]}]}))
    call_command("import_advisories", str(osv))
    (tmp_path / "requirements.txt").write_text("numpy==1.21.0\nrequests==2.32.4\n")
    bom = tmp_path / "bom.json"
    run_tool(tool("cyclonedx-py"), "requirements", str(tmp_path / "requirements.txt"), "--of", "JSON", "-o", str(bom),
             ok=(0,))
    status = push(bom, "cyclonedx")
    (run,) = CheckRun.objects.filter(pk__in=status["check_runs"])
    assert run.definition_id == "dependency-vulnerabilities" and run.status == "failed"
    (finding,) = PipelineFinding.objects.all()
    assert finding.rule_id == "GHSA-fx5c-h9f6-rv7c" and "1.22.0" in finding.detail and finding.tool == "cyclonedx-py"


def test_cyclonedx_without_advisories_cannot_decide(org, push, tmp_path):
    (tmp_path / "requirements.txt").write_text("numpy==1.21.0\n")
    bom = tmp_path / "bom.json"
    run_tool(tool("cyclonedx-py"), "requirements", str(tmp_path / "requirements.txt"), "--of", "JSON", "-o", str(bom),
             ok=(0,))
    status = push(bom, "cyclonedx")
    assert CheckRun.objects.get(pk__in=status["check_runs"]).status == "error"


def test_cyclonedx_ml_components_are_recorded_as_assets(org, push, tmp_path):
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6

    bom = Bom()
    bom.components.add(Component(name="fraud-scorer", version="3", type=ComponentType.MACHINE_LEARNING_MODEL,
                                 hashes=[HashType(alg=HashAlgorithm.SHA_256, content="ab" * 32)]))
    bom.components.add(Component(name="transactions-2026", type=ComponentType.DATA))
    path = tmp_path / "ml-bom.json"
    path.write_text(JsonV1Dot6(bom).output_as_string())
    status = push(path, "cyclonedx", tool="cyclonedx-python-lib")
    assert {(a["kind"], a["name"]) for a in status["assets"]} == {("model", "fraud-scorer"), ("dataset", "transactions-2026")}
    assert next(a for a in status["assets"] if a["kind"] == "model")["digest"] == "sha-256:" + "ab" * 32


@pytest.mark.parametrize("fmt", ["modelscan", "fickling", "picklescan"])
def test_model_scanner_reports_on_a_malicious_pickle_fail_model_serialization(org, push, pickles, fmt):
    make_assessment(org.project, levels=4, status=AssessmentStatus.APPROVED)
    bad, _ = pickles
    report = bad.parent / f"{fmt}.out"
    if fmt == "modelscan":
        run_tool(tool("modelscan"), "-p", str(bad), "-r", "json", "-o", str(report))
    elif fmt == "fickling":
        run_tool(tool("fickling"), "--check-safety", "--json-output", str(report), str(bad))
    else:
        done = run_tool(tool("picklescan"), "-p", str(bad))
        report.write_text(done.stdout + done.stderr)
    status = push(report, fmt, artifact="bad.pkl")
    (run,) = CheckRun.objects.filter(pk__in=status["check_runs"])
    assert run.definition_id == "model-serialization" and run.status == "failed"
    assert PipelineFinding.objects.filter(severity="critical").exists()
    assert practice(org.team, "MLS-11").capped == 1


@pytest.mark.parametrize("fmt", ["modelscan", "fickling", "picklescan"])
def test_model_scanner_reports_on_a_benign_pickle_pass(org, push, pickles, fmt):
    _, good = pickles
    report = good.parent / f"{fmt}.out"
    if fmt == "modelscan":
        run_tool(tool("modelscan"), "-p", str(good), "-r", "json", "-o", str(report))
    elif fmt == "fickling":
        run_tool(tool("fickling"), "--check-safety", "--json-output", str(report), str(good))
    else:
        done = run_tool(tool("picklescan"), "-p", str(good))
        report.write_text(done.stdout + done.stderr)
    status = push(report, fmt, artifact="good.pkl")
    assert CheckRun.objects.get(pk__in=status["check_runs"]).status == "passed"


GARAK = [
    {"entry_type": "start_run setup", "_config.version": "0.12.0", "plugins.probe_spec": "encoding,dan"},
    {"entry_type": "init", "garak_version": "0.12.0", "start_time": "2026-12-01T10:00:00", "run": "9f1c"},
    {"entry_type": "attempt", "status": 2, "probe_classname": "encoding.InjectBase64", "prompt": {"turns": []},
     "detector_results": {"encoding.DecodeMatch": [1.0, 0.0]}},
    {"entry_type": "eval", "probe": "encoding.InjectBase64", "detector": "encoding.DecodeMatch", "passed": 18, "total": 20},
    {"entry_type": "eval", "probe": "dan.Dan_11_0", "detector": "dan.DAN", "passed": 5, "total": 5},
    {"entry_type": "completion", "end_time": "2026-12-01T10:05:00", "run": "9f1c"},
]


def test_garak_report_records_pass_rates_and_fails_continuous_testing(org, push, tmp_path):
    make_assessment(org.project, levels=4, status=AssessmentStatus.APPROVED)
    path = tmp_path / "garak.report.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in GARAK) + "\n")
    status = push(path, "garak")
    run = CheckRun.objects.get(pk__in=status["check_runs"])
    assert run.definition_id == "imported-garak" and run.status == "failed" and run.data["tool_version"] == "0.12.0"
    assert {(e["probe"], e["passed"], e["total"]) for e in run.data["evaluations"]} == {
        ("encoding.InjectBase64", 18, 20), ("dan.Dan_11_0", 5, 5)}
    (finding,) = PipelineFinding.objects.all()
    assert "2 of 20 attempts failed" in finding.title and finding.severity == "medium"
    assert {practice(org.team, c).capped for c in ("MLS-12", "MLS-18", "MLS-20")} == {1}


GARAK_REPORTS = Path(__file__).parent / "fixtures" / "garak"  # written by garak 0.17.1 itself (README there)


def test_a_report_garak_wrote_fails_the_red_team_check_and_its_fixed_run_closes_the_finding(org, push):
    make_assessment(org.project, levels=4, status=AssessmentStatus.APPROVED)
    status = push(GARAK_REPORTS / "red-team.report.jsonl", "garak")
    run = CheckRun.objects.get(pk__in=status["check_runs"])
    assert run.definition_id == "imported-garak" and run.status == "failed" and run.data["tool_version"] == "0.17.1"
    assert {(e["probe"], e["detector"], e["passed"], e["total"]) for e in run.data["evaluations"]} == {
        ("promptinject.HijackHateHumans", "promptinject.AttackRogueString", 0, 6),
        ("malwaregen.TopLevel", "malwaregen.AnyCode", 16, 16)}
    (finding,) = PipelineFinding.objects.all()
    assert "promptinject.HijackHateHumans" in finding.title and "6 of 6 attempts failed" in finding.title
    assert {practice(org.team, c).capped for c in ("MLS-12", "MLS-18", "MLS-20")} == {1}
    fixed = push(GARAK_REPORTS / "red-team-fixed.report.jsonl", "garak")
    assert CheckRun.objects.get(pk__in=fixed["check_runs"]).status == "passed"
    finding.refresh_from_db()
    assert finding.status == "closed" and fixed["findings_closed"] == 1


def ocsf_event(status, uid, severity_id=4):
    return {"class_uid": 2003, "category_uid": 2, "activity_id": 1, "severity_id": severity_id, "time": 1764583200000,
            "metadata": {"version": "1.3.0", "product": {"name": "Prowler", "version": "5.0.0"}},
            "finding_info": {"uid": uid, "title": f"S3 bucket encryption ({uid})", "desc": "Bucket encryption check"},
            "compliance": {"status": status, "control": "s3_bucket_default_encryption", "standards": ["CIS-2.0"]},
            "resources": [{"uid": "arn:aws:s3:::models", "type": "AwsS3Bucket"}]}


def test_ocsf_compliance_findings_become_an_imported_run(org, push, tmp_path):
    path = tmp_path / "ocsf.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in (ocsf_event("Fail", "f-1"), ocsf_event("Pass", "f-2"))))
    status = push(path, "ocsf")
    run = CheckRun.objects.get(pk__in=status["check_runs"])
    assert run.definition_id == "imported-ocsf" and run.status == "failed"
    (finding,) = PipelineFinding.objects.all()
    assert finding.tool == "prowler" and finding.severity == "high" and finding.ref == "arn:aws:s3:::models"


def test_in_toto_test_result_in_a_dsse_envelope(org, push, tmp_path):
    statement = {"_type": "https://in-toto.io/Statement/v1",
                 "subject": [{"name": "model.safetensors", "digest": {"sha256": "cd" * 32}}],
                 "predicateType": "https://in-toto.io/attestation/test-result/v0.1",
                 "predicate": {"result": "FAILED", "configuration": [{"name": "pytest.ini"}],
                               "url": "https://ci.example/run/1", "passedTests": ["test_shape"],
                               "warnedTests": [], "failedTests": ["test_no_pii_in_outputs"]}}
    envelope = {"payloadType": "application/vnd.in-toto+json",
                "payload": base64.b64encode(json.dumps(statement).encode()).decode(), "signatures": []}
    path = tmp_path / "attestation.json"
    path.write_text(json.dumps(envelope))
    status = push(path, "in-toto")
    run = CheckRun.objects.get(pk__in=status["check_runs"])
    assert run.definition_id == "imported-in-toto" and run.status == "failed"
    assert PipelineFinding.objects.get().asset_name == "model.safetensors"
    assert status["assets"][0]["digest"] == "sha256:" + "cd" * 32


def test_an_upload_by_a_person_is_marked_as_such(org, api, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api(org.member), org.project, bandit_sarif(tmp_path, VULNERABLE_APP), "sarif")
    assert response.status_code == 202
    item = ResultUpload.objects.get()
    assert item.origin == "person" and item.uploaded_by == org.member
    assert item.check_runs.get().trigger == "upload"
