"""The gate: the verdict on one commit from the results recorded for it and the project's policy."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent
from ingest.models import GatePolicy

from .conftest import upload

pytestmark = pytest.mark.django_db
SHA = "abcdef1234567"  # pragma: allowlist secret


def sarif(*severities, tool="semgrep"):
    results = [{"ruleId": f"R{n}", "message": {"text": f"issue {n}"}, "properties": {"security-severity": s}}
               for n, s in enumerate(severities)]
    return json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": tool}}, "results": results}]}).encode()


@pytest.fixture
def client(org, ingest_key, token_client):
    return token_client(ingest_key())


def push(client, org, body, capture, fmt="sarif", commit=SHA):
    with capture(execute=True):
        assert upload(client, org.project, body, fmt, commit=commit).status_code == 202


def gate(client, org, commit=SHA):
    response = client.get(f"/api/v1/projects/{org.project.pk}/gate/?commit={commit}")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_commit_without_results_fails(org, client):
    body = gate(client, org)
    assert body == {"verdict": "fail", "commit": SHA, "reasons": [f"no results are recorded for commit {SHA}"]}


def test_a_clean_report_passes_and_a_high_finding_fails(org, client, django_capture_on_commit_callbacks):
    push(client, org, sarif("2.0"), django_capture_on_commit_callbacks)
    assert gate(client, org)["verdict"] == "pass"
    push(client, org, sarif("9.8"), django_capture_on_commit_callbacks, commit="1234567abc")  # pragma: allowlist secret
    body = gate(client, org, "1234567abc")
    assert body["verdict"] == "fail" and any("critical" in r for r in body["reasons"])


def test_the_officers_threshold_is_read(org, client, api, django_capture_on_commit_callbacks):
    push(client, org, sarif("2.0"), django_capture_on_commit_callbacks)
    url = f"/api/v1/projects/{org.project.pk}/gate-policy/"
    assert api(org.lead).put(url, {"fail_severity": "info"}).status_code == 403  # a team cannot move its own gate
    response = api(org.officer).put(url, {"fail_severity": "low", "fail_on_failed_check": False})
    assert response.status_code == 200 and GatePolicy.objects.get().fail_severity == "low"
    assert AuditEvent.objects.filter(action="ingest.gate_policy_set", actor=org.officer).exists()
    assert gate(client, org)["verdict"] == "fail"
    assert api(org.other_lead).get(url).status_code == 404


def test_a_report_still_processing_fails_the_gate_with_a_reason(org, client):
    assert upload(client, org.project, sarif(), "sarif", commit=SHA).status_code == 202  # not processed yet
    body = gate(client, org)
    assert body["verdict"] == "fail" and "still processing" in body["reasons"][0]


def test_an_sbom_naming_models_needs_a_model_scan(org, client, django_capture_on_commit_callbacks):
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
        {"type": "machine-learning-model", "name": "scorer", "version": "1"}]}
    push(client, org, json.dumps(bom).encode(), django_capture_on_commit_callbacks, fmt="cyclonedx")
    body = gate(client, org)
    assert body["verdict"] == "fail" and any("model scanner" in r for r in body["reasons"])


def test_the_commit_is_required_and_checked(org, client):
    for query in ("", "?commit=", "?commit=xyz"):
        response = client.get(f"/api/v1/projects/{org.project.pk}/gate/{query}")
        assert response.status_code == 400 and "commit" in response.json()


@pytest.mark.parametrize("who,status", [("member", 200), ("auditor", 200), ("other_lead", 404), ("nobody", 404)])
def test_people_read_the_gate_of_projects_they_see(org, api, who, status):
    assert api(getattr(org, who)).get(f"/api/v1/projects/{org.project.pk}/gate/?commit={SHA}").status_code == status


def test_the_gate_costs_the_same_queries_for_one_or_many_reports(org, client, django_capture_on_commit_callbacks,
                                                                   django_assert_max_num_queries):
    push(client, org, sarif("2.0"), django_capture_on_commit_callbacks)
    from ingest.gate import gate_verdict

    # the policy, the commit's uploads, their check runs
    with django_assert_max_num_queries(3):
        gate_verdict(org.project, SHA)
    for _ in range(5):
        push(client, org, sarif("2.0", tool="bandit"), django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(3):
        gate_verdict(org.project, SHA)


EMPTY_SARIF = b'{"version": "2.1.0", "runs": []}'
EMPTY_BOM = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}).encode()
EMPTY_MODELSCAN = json.dumps({"summary": {"scanned": {"total_scanned": 0}, "modelscan_version": "0.8"},
                              "issues": [], "errors": []}).encode()


@pytest.mark.parametrize("body,fmt,words", [(EMPTY_SARIF, "sarif", "no run"), (EMPTY_BOM, "cyclonedx", "no component"),
                                            (EMPTY_MODELSCAN, "modelscan", "no file")])
def test_an_empty_report_is_recorded_empty_and_fails_the_gate(org, client, django_capture_on_commit_callbacks, body,
                                                              fmt, words):
    from checks.models import CheckRun
    from ingest.models import ResultUpload

    push(client, org, body, django_capture_on_commit_callbacks, fmt=fmt)
    item = ResultUpload.objects.get()
    assert item.status == "empty" and words in item.detail
    assert not CheckRun.objects.exists()  # a passed run would have verified practices nobody scanned
    verdict = gate(client, org)
    assert verdict["verdict"] == "fail"
    assert any(f"report {item.pk} ({fmt}) scanned nothing" in r for r in verdict["reasons"])
    assert client.get(f"/api/v1/results/{item.pk}/").json()["status"] == "empty"


def test_an_empty_report_beside_a_real_scan_fails_unless_the_policy_ignores_it(
        org, client, api, django_capture_on_commit_callbacks):
    push(client, org, sarif(), django_capture_on_commit_callbacks)  # a run that found nothing: a clean scan
    assert gate(client, org)["verdict"] == "pass"
    push(client, org, EMPTY_SARIF, django_capture_on_commit_callbacks)
    assert gate(client, org)["verdict"] == "fail"
    url = f"/api/v1/projects/{org.project.pk}/gate-policy/"
    assert api(org.officer).put(url, {"fail_on_empty_report": False}).status_code == 200
    assert gate(client, org)["verdict"] == "pass"
    # Ignored is not scanned: a commit whose only reports are empty still has no results.
    push(client, org, EMPTY_BOM, django_capture_on_commit_callbacks, fmt="cyclonedx", commit="1234567abc")  # pragma: allowlist secret
    body = gate(client, org, "1234567abc")
    assert body == {"verdict": "fail", "commit": "1234567abc",  # pragma: allowlist secret
                    "reasons": ["no scan results are recorded for commit 1234567abc"]}


def test_an_empty_sbom_closes_no_finding(org, client, django_capture_on_commit_callbacks):
    from ingest.models import PipelineFinding

    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6",
           "metadata": {"tools": {"components": [{"name": "trivy", "version": "0.50"}]}},
           "vulnerabilities": [{"id": "CVE-2024-0001", "ratings": [{"severity": "high"}], "affects": [{"ref": "pkg:pypi/x@1"}]}]}
    push(client, org, json.dumps(bom).encode(), django_capture_on_commit_callbacks, fmt="cyclonedx")
    assert PipelineFinding.objects.get().status == "open"
    empty = {**bom, "vulnerabilities": [], "components": []}
    push(client, org, json.dumps(empty).encode(), django_capture_on_commit_callbacks, fmt="cyclonedx")
    assert PipelineFinding.objects.get().status == "open"
